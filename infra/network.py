"""The VPC: two or more AZs, public subnets by default (no NAT), isolated subnets for the internal load balancer, an
S3 gateway endpoint, flow logs."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from voicefleet_config import NetworkConfig

LB_SUBNETS = "lb"


class Network(Construct):
    """VPC for the fleet and its load balancer.

    Without NAT (the default), instances live in public subnets with public IPv4 addresses; their security group
    admits only the load balancer, and S3 traffic (models, audio) stays on the free gateway endpoint. A NAT gateway
    costs per hour and per GB processed (see docs/infra.md), about what a small Spot GPU fleet costs, so it is
    opt-in (`network.nat: true`), which moves instances to private subnets behind one NAT gateway.

    The internal load balancer sits in isolated subnets (no route to or from the internet, free): CloudFront reaches
    it through a VPC origin, and it reaches only the instances.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: NetworkConfig, retain: bool) -> None:
        super().__init__(scope, construct_id)
        subnets = [ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24)]
        if config.nat:
            subnets.append(
                ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22)
            )
        # Appended last, so adding it to a deployed VPC leaves the existing subnets' CIDR blocks where they are.
        subnets.append(
            ec2.SubnetConfiguration(name=LB_SUBNETS, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24)
        )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr("10.40.0.0/16"),
            max_azs=config.max_azs,
            nat_gateways=config.nat_gateways,
            subnet_configuration=subnets,
            restrict_default_security_group=True,
            gateway_endpoints={"S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)},
        )
        log_group = logs.LogGroup(
            self,
            "FlowLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=cdk.RemovalPolicy.RETAIN if retain else cdk.RemovalPolicy.DESTROY,
        )
        # Rejected traffic only: enough to debug the security groups at a fraction of ALL's log volume.
        self.vpc.add_flow_log(
            "RejectedFlows",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(log_group),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )
        self.instance_subnets = ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS if config.nat else ec2.SubnetType.PUBLIC
        )
        self.public_instances = not config.nat
        self.load_balancer_subnets = ec2.SubnetSelection(subnet_group_name=LB_SUBNETS)
