"""The internal ALB: no internet path in any template, admitted only from CloudFront's VPC-origin security group,
forwarding only the API (and the try-it page when on), and the drain chain still consistent behind it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.fleet.cloudwatch_agent import prometheus_config
from infra.load_balancer import VPC_ORIGINS_SECURITY_GROUP, drain_seconds
from tests.infra.conftest import Synth, only
from voicefleet_config import load_environment

_INTERNET = ("0.0.0.0/0", "::/0")


def _ingress_rules(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Every ingress rule in a template: inline in security groups and standalone."""
    rules: list[dict[str, Any]] = []
    for res in template["Resources"].values():
        if res["Type"] == "AWS::EC2::SecurityGroup":
            rules += res["Properties"].get("SecurityGroupIngress", [])
        elif res["Type"] == "AWS::EC2::SecurityGroupIngress":
            rules.append(res["Properties"])
    return rules


@pytest.mark.parametrize("env", ["dev", "prod", "edge", "front"])
def test_no_security_group_admits_the_internet_or_a_prefix_list(synth: Synth, env: str) -> None:
    rules = _ingress_rules(synth.raw[env])
    assert rules, "expected the ALB and instance rules"
    for rule in rules:
        assert rule.get("CidrIp") not in _INTERNET, rule
        assert rule.get("CidrIpv6") not in _INTERNET, rule
        assert "SourcePrefixListId" not in rule, rule  # the CloudFront prefix-list rule is gone
        assert "SourceSecurityGroupId" in rule, rule  # every rule names the group it admits


@pytest.mark.parametrize("env", ["dev", "prod", "edge", "front"])
def test_no_plain_http_across_the_internet(synth: Synth, env: str) -> None:
    resources = synth.raw[env]["Resources"].values()
    albs = [r["Properties"] for r in resources if r["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer"]
    assert [alb["Scheme"] for alb in albs] == ["internal"]
    (dist,) = (r["Properties"]["DistributionConfig"] for r in resources if r["Type"] == "AWS::CloudFront::Distribution")
    for origin in dist["Origins"]:
        assert "CustomOriginConfig" not in origin, origin  # only the S3 origin (OAC) and the VPC origin
        assert "S3OriginConfig" in origin or "VpcOriginConfig" in origin
    for behavior in [dist["DefaultCacheBehavior"], *dist["CacheBehaviors"]]:
        assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert "X-Origin-Verify" not in json.dumps(synth.raw[env])
    assert not [r for r in resources if r["Type"] == "AWS::SecretsManager::Secret" and "Origin" in json.dumps(r)]


def test_alb_sits_in_isolated_subnets(prod: Template) -> None:
    alb = only(prod, "AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]
    subnets = {ref["Ref"] for ref in alb["Subnets"]}
    assert len(subnets) == 2
    routes = prod.find_resources("AWS::EC2::Route")
    tables = prod.find_resources("AWS::EC2::SubnetRouteTableAssociation")
    for subnet in subnets:
        (table,) = (
            t["Properties"]["RouteTableId"]["Ref"]
            for t in tables.values()
            if t["Properties"]["SubnetId"] == {"Ref": subnet}
        )
        assert not [r for r in routes.values() if r["Properties"]["RouteTableId"] == {"Ref": table}], "no routes out"
    assert prod.find_resources("AWS::EC2::Subnet")[next(iter(subnets))]["Properties"]["MapPublicIpOnLaunch"] is False


def test_alb_admits_only_the_vpc_origin_security_group(prod: Template) -> None:
    alb = only(prod, "AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]
    (alb_sg,) = (ref["Fn::GetAtt"][0] for ref in alb["SecurityGroups"])
    rules = [
        r["Properties"]
        for r in prod.find_resources("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [alb_sg, "GroupId"]}
    ]
    assert len(rules) == 1
    assert (rules[0]["FromPort"], rules[0]["ToPort"], rules[0]["IpProtocol"]) == (80, 80, "tcp")
    lookup_id, source_field = rules[0]["SourceSecurityGroupId"]["Fn::GetAtt"]
    vpc = next(iter(prod.find_resources("AWS::EC2::VPC")))
    assert source_field == "SecurityGroups.0.GroupId"
    lookup = prod.to_json()["Resources"][lookup_id]
    for phase in ("Create", "Update"):
        # The SDK call is a JSON string joined around the VPC's Ref; put the Ref back as text to read it.
        parts = lookup["Properties"][phase]["Fn::Join"][1]
        call = json.loads("".join(p if isinstance(p, str) else f"<{p['Ref']}>" for p in parts))
        assert (call["service"], call["action"]) == ("EC2", "describeSecurityGroups")
        assert call["parameters"]["Filters"] == [
            {"Name": "vpc-id", "Values": [f"<{vpc}>"]},
            {"Name": "group-name", "Values": [VPC_ORIGINS_SECURITY_GROUP]},
        ]
    # The group exists once CloudFront has deployed the VPC origin, which the distribution depends on.
    distribution = next(iter(prod.find_resources("AWS::CloudFront::Distribution")))
    assert distribution in lookup["DependsOn"]
    assert "SecurityGroupIngress" not in prod.to_json()["Resources"][alb_sg]["Properties"]


def _forwarded(template: Template) -> list[str]:
    listener = only(template, "AWS::ElasticLoadBalancingV2::Listener")["Properties"]
    assert (listener["Port"], listener["Protocol"]) == (80, "HTTP")
    default = listener["DefaultActions"][0]
    assert (default["Type"], default["FixedResponseConfig"]["StatusCode"]) == ("fixed-response", "404")
    rule = only(template, "AWS::ElasticLoadBalancingV2::ListenerRule")["Properties"]
    assert rule["Actions"][0]["Type"] == "forward"
    (condition,) = rule["Conditions"]
    assert condition["Field"] == "path-pattern"  # no header condition: no shared secret
    values: list[str] = condition["PathPatternConfig"]["Values"]
    return values


def test_listener_forwards_only_the_api_and_the_optional_page(prod: Template, front: Template) -> None:
    assert _forwarded(prod) == ["/v1/*"]
    assert _forwarded(front) == ["/v1/*", "/", "/static/*"]


def test_metrics_are_scraped_on_the_instance_only(prod: Template, front: Template) -> None:
    config = load_environment("prod")
    targets = json.loads(prometheus_config(service_port=config.fleet.service_port, env_name="prod"))
    assert targets["scrape_configs"][0]["static_configs"][0]["targets"] == ["127.0.0.1:8000"]
    assert targets["scrape_configs"][0]["metrics_path"] == "/metrics"
    for template in (prod, front):
        assert not [p for p in _forwarded(template) if p.startswith(("/metrics", "/docs", "/openapi"))]


def test_target_group_readiness_drain_and_slow_start(prod: Template) -> None:
    tg = only(prod, "AWS::ElasticLoadBalancingV2::TargetGroup")["Properties"]
    assert tg["Port"] == 8000
    assert tg["HealthCheckPath"] == "/readyz"
    attributes = {a["Key"]: a["Value"] for a in tg["TargetGroupAttributes"]}
    # request_timeout_s (60) + 30 s margin: an in-flight synthesis finishes before deregistration completes.
    assert attributes["deregistration_delay.timeout_seconds"] == "90"
    assert int(attributes["slow_start.duration_seconds"]) >= 30


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_drain_chain_is_consistent_behind_the_internal_alb(synth: Synth, env: str) -> None:
    """request timeout <= CloudFront read timeout <= ALB idle timeout = deregistration delay < drain hook timeout."""
    config = load_environment(env)
    template = Template.from_json(synth.raw[env])
    tg = only(template, "AWS::ElasticLoadBalancingV2::TargetGroup")["Properties"]
    delay = int({a["Key"]: a["Value"] for a in tg["TargetGroupAttributes"]}["deregistration_delay.timeout_seconds"])
    alb = only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]
    idle = int({a["Key"]: a["Value"] for a in alb["LoadBalancerAttributes"]}["idle_timeout.timeout_seconds"])
    hooks = [h["Properties"] for h in template.find_resources("AWS::AutoScaling::LifecycleHook").values()]
    (drain_hook,) = (h for h in hooks if h["LifecycleTransition"] == "autoscaling:EC2_INSTANCE_TERMINATING")
    dist = only(template, "AWS::CloudFront::Distribution")["Properties"]["DistributionConfig"]
    (read_timeout,) = (o["VpcOriginConfig"]["OriginReadTimeout"] for o in dist["Origins"] if "VpcOriginConfig" in o)
    assert config.service.request_timeout_s <= read_timeout <= idle
    assert idle == delay == drain_seconds(config)
    assert drain_hook["HeartbeatTimeout"] > delay


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
