"""CloudFront + ALB: audio via OAC, API uncached to the ALB, HTTPS only; the ALB admits only CloudFront."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match, Template

from tests.infra.conftest import only


def _dist(template: Template) -> dict[str, Any]:
    config: dict[str, Any] = only(template, "AWS::CloudFront::Distribution")["Properties"]["DistributionConfig"]
    return config


CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # AWS managed cache policy id


def test_audio_from_outputs_bucket_through_oac(prod: Template) -> None:
    dist = _dist(prod)
    audio = next(b for b in dist["CacheBehaviors"] if b["PathPattern"] == "/audio/*")
    origin = next(o for o in dist["Origins"] if o["Id"] == audio["TargetOriginId"])
    assert "S3OriginConfig" in origin
    assert "OriginAccessControlId" in origin
    assert audio["ViewerProtocolPolicy"] == "redirect-to-https"
    assert audio["AllowedMethods"] == ["GET", "HEAD"]
    prod.has_resource_properties(
        "AWS::CloudFront::OriginAccessControl",
        {
            "OriginAccessControlConfig": Match.object_like(
                {"OriginAccessControlOriginType": "s3", "SigningBehavior": "always"}
            )
        },
    )


def test_api_paths_to_alb_uncached_all_methods_https(prod: Template) -> None:
    dist = _dist(prod)
    behaviors = {b["PathPattern"]: b for b in dist["CacheBehaviors"]}
    default = dist["DefaultCacheBehavior"]
    for behavior in (behaviors["/v1/*"], behaviors["/healthz"], default):
        origin = next(o for o in dist["Origins"] if o["Id"] == behavior["TargetOriginId"])
        assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "http-only"
        assert origin["OriginCustomHeaders"][0]["HeaderName"] == "X-Origin-Verify"
        assert behavior["CachePolicyId"] == CACHING_DISABLED
        assert len(behavior["AllowedMethods"]) == 7
        assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"


def test_price_class_and_logging_from_config(prod: Template, dev: Template, edge: Template) -> None:
    assert _dist(prod)["PriceClass"] == "PriceClass_200"
    assert _dist(dev)["PriceClass"] == "PriceClass_100"
    assert _dist(edge)["PriceClass"] == "PriceClass_All"
    assert _dist(prod)["Logging"]["Prefix"] == "cloudfront/"


def test_custom_domain_and_certificate(edge: Template, prod: Template) -> None:
    dist = _dist(edge)
    assert dist["Aliases"] == ["tts.example.com"]
    assert dist["ViewerCertificate"]["AcmCertificateArn"].startswith("arn:aws:acm:us-east-1:")
    assert dist["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert "Aliases" not in _dist(prod)


def test_alb_ingress_only_from_cloudfront_prefix_list(prod: Template) -> None:
    lookup = only(prod, "Custom::AWS")["Properties"]
    assert "com.amazonaws.global.cloudfront.origin-facing" in str(lookup["Update"])
    alb_sg = prod.find_resources(
        "AWS::EC2::SecurityGroup", {"Properties": {"GroupDescription": Match.string_like_regexp("CloudFront")}}
    )
    assert "SecurityGroupIngress" not in next(iter(alb_sg.values()))["Properties"]
    (sg_id,) = alb_sg
    rules = [
        r["Properties"]
        for r in prod.find_resources("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [sg_id, "GroupId"]}
    ]
    assert len(rules) == 1
    assert rules[0]["FromPort"] == 80
    assert "PrefixLists.0.PrefixListId" in str(rules[0]["SourcePrefixListId"])
    assert "CidrIp" not in rules[0]


def test_listener_forwards_only_with_secret_header(prod: Template) -> None:
    listener = only(prod, "AWS::ElasticLoadBalancingV2::Listener")["Properties"]
    assert listener["DefaultActions"][0]["Type"] == "fixed-response"
    assert listener["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "403"
    rule = only(prod, "AWS::ElasticLoadBalancingV2::ListenerRule")["Properties"]
    header = rule["Conditions"][0]["HttpHeaderConfig"]
    assert header["HttpHeaderName"] == "X-Origin-Verify"
    assert "resolve:secretsmanager" in str(header["Values"])
    assert rule["Actions"][0]["Type"] == "forward"
    # CloudFront sends the same secret.
    dist = _dist(prod)
    sent = {str(o["OriginCustomHeaders"][0]["HeaderValue"]) for o in dist["Origins"] if "OriginCustomHeaders" in o}
    assert sent == {str(header["Values"][0])}


def test_target_group_readiness_drain_and_slow_start(prod: Template) -> None:
    tg = only(prod, "AWS::ElasticLoadBalancingV2::TargetGroup")["Properties"]
    assert tg["Port"] == 8000
    assert tg["HealthCheckPath"] == "/readyz"
    attributes = {a["Key"]: a["Value"] for a in tg["TargetGroupAttributes"]}
    # request_timeout_s (60) + 30 s margin: an in-flight synthesis finishes before deregistration completes.
    assert attributes["deregistration_delay.timeout_seconds"] == "90"
    assert int(attributes["slow_start.duration_seconds"]) >= 30


def test_alb_logs_and_drops_invalid_headers(prod: Template, dev: Template) -> None:
    attrs = {
        a["Key"]: a["Value"]
        for a in only(prod, "AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]["LoadBalancerAttributes"]
    }
    assert attrs["access_logs.s3.enabled"] == "true"
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attrs["deletion_protection.enabled"] == "true"
    dev_attrs = {
        a["Key"]: a["Value"]
        for a in only(dev, "AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]["LoadBalancerAttributes"]
    }
    assert dev_attrs["deletion_protection.enabled"] == "false"
