"""Network: 2+ AZs, no NAT by default (public instances), isolated subnets for the internal ALB, S3 gateway endpoint;
NAT + private subnets on request."""

from __future__ import annotations

from aws_cdk.assertions import Match, Template

from tests.infra.conftest import only


def _groups(template: Template) -> dict[str, set[str]]:
    """Subnet logical ids by subnet group ('public', 'private', 'lb'), from CDK's aws-cdk:subnet-name tag."""
    groups: dict[str, set[str]] = {}
    for key, subnet in template.find_resources("AWS::EC2::Subnet").items():
        tags = {t["Key"]: t["Value"] for t in subnet["Properties"]["Tags"]}
        groups.setdefault(tags["aws-cdk:subnet-name"], set()).add(key)
    return groups


def test_default_has_no_nat_and_public_instances(prod: Template) -> None:
    prod.resource_count_is("AWS::EC2::NatGateway", 0)
    groups = _groups(prod)
    assert {name: len(ids) for name, ids in groups.items()} == {"public": 2, "lb": 2}  # two AZs each
    subnets = prod.find_resources("AWS::EC2::Subnet")
    assert all(subnets[key]["Properties"]["MapPublicIpOnLaunch"] is True for key in groups["public"])
    asg = only(prod, "AWS::AutoScaling::AutoScalingGroup")["Properties"]
    assert {ref["Ref"] for ref in asg["VPCZoneIdentifier"]} == groups["public"]


def test_load_balancer_subnets_are_isolated_in_every_layout(prod: Template, edge: Template) -> None:
    for template in (prod, edge):
        lb = _groups(template)["lb"]
        subnets = template.find_resources("AWS::EC2::Subnet")
        assert all(subnets[key]["Properties"]["MapPublicIpOnLaunch"] is False for key in lb)
        alb = only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]
        assert {ref["Ref"] for ref in alb["Subnets"]} == lb


def test_s3_gateway_endpoint(prod: Template) -> None:
    endpoint = only(prod, "AWS::EC2::VPCEndpoint")["Properties"]
    assert endpoint["VpcEndpointType"] == "Gateway"
    assert "s3" in str(endpoint["ServiceName"])


def test_nat_variant_puts_instances_in_private_subnets(edge: Template) -> None:
    edge.resource_count_is("AWS::EC2::NatGateway", 1)
    groups = _groups(edge)
    assert {name: len(ids) for name, ids in groups.items()} == {"public": 2, "private": 2, "lb": 2}
    private = groups["private"]
    asg = only(edge, "AWS::AutoScaling::AutoScalingGroup")["Properties"]
    used = {ref["Ref"] for ref in asg["VPCZoneIdentifier"]}
    assert used == private


def test_flow_logs_rejected_traffic(prod: Template) -> None:
    prod.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "REJECT"})


def test_instances_admit_only_the_alb(prod: Template) -> None:
    ingress = prod.find_resources("AWS::EC2::SecurityGroupIngress", {"Properties": {"FromPort": 8000}})
    assert len(ingress) == 1
    rule = next(iter(ingress.values()))["Properties"]
    assert "SourceSecurityGroupId" in rule
    assert "CidrIp" not in rule
    prod.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {"SecurityGroupIngress": Match.absent(), "GroupDescription": Match.string_like_regexp("GPU")},
    )
