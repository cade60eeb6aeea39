"""Network: 2+ AZs, no NAT by default (public instances), S3 gateway endpoint; NAT + private subnets on request."""

from __future__ import annotations

from aws_cdk.assertions import Match, Template

from tests.infra.conftest import only


def test_default_has_no_nat_and_public_instances(prod: Template) -> None:
    prod.resource_count_is("AWS::EC2::NatGateway", 0)
    subnets = prod.find_resources("AWS::EC2::Subnet")
    assert len(subnets) == 2  # two AZs
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is True for s in subnets.values())


def test_s3_gateway_endpoint(prod: Template) -> None:
    endpoint = only(prod, "AWS::EC2::VPCEndpoint")["Properties"]
    assert endpoint["VpcEndpointType"] == "Gateway"
    assert "s3" in str(endpoint["ServiceName"])


def test_nat_variant_puts_instances_in_private_subnets(edge: Template) -> None:
    edge.resource_count_is("AWS::EC2::NatGateway", 1)
    subnets = edge.find_resources("AWS::EC2::Subnet")
    assert len(subnets) == 4  # two AZs, public + private
    private = {k for k, s in subnets.items() if s["Properties"]["MapPublicIpOnLaunch"] is False}
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
