"""CloudFront: the API through a VPC origin (no caching), audio via OAC, HTTPS only, the default certificate or a
custom domain, and nothing else through the front door (the edge gate answers 404)."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match, Template

from tests.infra.conftest import only


def _dist(template: Template) -> dict[str, Any]:
    config: dict[str, Any] = only(template, "AWS::CloudFront::Distribution")["Properties"]["DistributionConfig"]
    return config


def _origin(dist: dict[str, Any], behavior: dict[str, Any]) -> dict[str, Any]:
    origin: dict[str, Any] = next(o for o in dist["Origins"] if o["Id"] == behavior["TargetOriginId"])
    return origin


CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # AWS managed cache policy id


def test_audio_from_outputs_bucket_through_oac(prod: Template) -> None:
    dist = _dist(prod)
    audio = next(b for b in dist["CacheBehaviors"] if b["PathPattern"] == "/audio/*")
    origin = _origin(dist, audio)
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


def test_api_through_the_vpc_origin_uncached_all_methods_https(prod: Template) -> None:
    dist = _dist(prod)
    api = next(b for b in dist["CacheBehaviors"] if b["PathPattern"] == "/v1/*")
    origin = _origin(dist, api)
    assert "CustomOriginConfig" not in origin  # no origin reached over the internet
    vpc_origin_id = next(iter(prod.find_resources("AWS::CloudFront::VpcOrigin")))
    assert origin["VpcOriginConfig"]["VpcOriginId"] == {"Fn::GetAtt": [vpc_origin_id, "Id"]}
    assert "OriginCustomHeaders" not in origin  # no shared secret: nothing outside AWS can reach the ALB
    assert api["CachePolicyId"] == CACHING_DISABLED
    assert len(api["AllowedMethods"]) == 7
    assert api["ViewerProtocolPolicy"] == "redirect-to-https"
    vpc_origin = only(prod, "AWS::CloudFront::VpcOrigin")["Properties"]["VpcOriginEndpointConfig"]
    alb = next(iter(prod.find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer")))
    assert vpc_origin["Arn"] == {"Ref": alb}
    assert (vpc_origin["OriginProtocolPolicy"], vpc_origin["HTTPPort"]) == ("http-only", 80)


def test_only_api_audio_and_optional_try_it_page_have_behaviours(prod: Template, front: Template) -> None:
    assert {b["PathPattern"] for b in _dist(prod)["CacheBehaviors"]} == {"/v1/*", "/audio/*"}
    page = {b["PathPattern"]: b for b in _dist(front)["CacheBehaviors"]}
    assert set(page) == {"/v1/*", "/audio/*", "/static/*"}
    assert page["/static/*"]["AllowedMethods"] == ["GET", "HEAD"]


def test_default_behaviour_is_gated_get_only(prod: Template) -> None:
    default = _dist(prod)["DefaultCacheBehavior"]
    assert default["AllowedMethods"] == ["GET", "HEAD"]
    (association,) = default["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    gate = next(iter(prod.find_resources("AWS::CloudFront::Function")))
    assert association["FunctionARN"] == {"Fn::GetAtt": [gate, "FunctionARN"]}
    assert only(prod, "AWS::CloudFront::Function")["Properties"]["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"


def test_price_class_and_logging_from_config(prod: Template, dev: Template, edge: Template) -> None:
    assert _dist(prod)["PriceClass"] == "PriceClass_200"
    assert _dist(dev)["PriceClass"] == "PriceClass_100"
    assert _dist(edge)["PriceClass"] == "PriceClass_All"
    assert _dist(prod)["Logging"]["Prefix"] == "cloudfront/"


def test_default_certificate_without_a_domain(prod: Template) -> None:
    dist = _dist(prod)
    assert "Aliases" not in dist
    assert "ViewerCertificate" not in dist  # CloudFront's default *.cloudfront.net certificate
    prod.resource_count_is("AWS::Route53::RecordSet", 0)
    prod.resource_count_is("AWS::CertificateManager::Certificate", 0)


def test_custom_domain_with_an_existing_certificate(edge: Template) -> None:
    dist = _dist(edge)
    assert dist["Aliases"] == ["tts.example.com"]
    assert dist["ViewerCertificate"]["AcmCertificateArn"].startswith("arn:aws:acm:us-east-1:")
    assert dist["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert dist["ViewerCertificate"]["SslSupportMethod"] == "sni-only"
    edge.resource_count_is("AWS::Route53::RecordSet", 0)  # no hosted zone given: DNS is the operator's


def test_custom_domain_with_hosted_zone_creates_certificate_and_alias(front: Template) -> None:
    cert_id, cert = next(iter(front.find_resources("AWS::CertificateManager::Certificate").items()))
    props = cert["Properties"]
    assert props["DomainName"] == "tts.example.com"
    assert props["ValidationMethod"] == "DNS"
    assert props["DomainValidationOptions"] == [
        {"DomainName": "tts.example.com", "HostedZoneId": "Z0123456789ABCDEFGHIJ"}
    ]
    dist = _dist(front)
    assert dist["Aliases"] == ["tts.example.com"]
    assert dist["ViewerCertificate"]["AcmCertificateArn"] == {"Ref": cert_id}
    assert dist["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    distribution = next(iter(front.find_resources("AWS::CloudFront::Distribution")))
    records = [r["Properties"] for r in front.find_resources("AWS::Route53::RecordSet").values()]
    assert sorted(r["Type"] for r in records) == ["A", "AAAA"]
    for record in records:
        assert record["Name"] == "tts.example.com."
        assert record["HostedZoneId"] == "Z0123456789ABCDEFGHIJ"
        assert json.dumps({"Fn::GetAtt": [distribution, "DomainName"]}) in json.dumps(record["AliasTarget"])
