"""The internal load balancer: no internet path; CloudFront reaches it through a VPC origin, inside AWS's network.

It forwards only the API (and the try-it page when `cdn.try_it_page` is on) to the fleet: `/metrics`, `/docs`,
`/openapi.json` and `/admin/*` answer 404 here, so they are reachable only on the instance itself (the CloudWatch agent
scrapes `/metrics` on 127.0.0.1; see infra/fleet/cloudwatch_agent.py).
"""

from __future__ import annotations

import math

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from constructs import Construct

from voicefleet_config import CdnConfig, EnvironmentConfig

READINESS_PATH = "/readyz"
# Seconds past the longest request the service allows, for the upload to S3 and the response to leave.
DRAIN_MARGIN_S = 30
# CloudFront to the load balancer: HTTP on AWS's private network (docs/infra.md, "The front door").
ORIGIN_PORT = 80
API_PATHS = ("/v1/*",)
TRY_IT_PATHS = ("/", "/static/*")
# The security group CloudFront creates in the VPC for its VPC origins; CloudFormation does not return its id
# (aws-cdk-lib aws_cloudfront_origins README, "The VPC origin service security group"), so it is looked up.
VPC_ORIGINS_SECURITY_GROUP = "CloudFront-VPCOrigins-Service-SG"
NOT_FOUND_BODY = '{"detail":"not found"}'


def drain_seconds(config: EnvironmentConfig) -> int:
    """How long a deregistering target keeps its in-flight requests: the service's timeout plus a margin."""
    return math.ceil(config.service.request_timeout_s) + DRAIN_MARGIN_S


def forwarded_paths(cdn: CdnConfig) -> tuple[str, ...]:
    """The paths the front door serves from the fleet: the API, plus the try-it page when enabled."""
    return API_PATHS + (TRY_IT_PATHS if cdn.try_it_page else ())


class LoadBalancer(Construct):
    """Internal ALB in isolated subnets on HTTP:80; forwards the API paths to the fleet's target group, 404 otherwise.

    Its security group admits nothing until `admit_cloudfront` adds CloudFront's VPC-origin security group.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        logs_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        port = config.fleet.service_port
        self.vpc = vpc
        self.security_group = ec2.SecurityGroup(
            self,
            "AlbSg",
            vpc=vpc,
            description="Internal ALB - HTTP from the CloudFront VPC origin only",
            allow_all_outbound=False,
        )
        self.alb = elbv2.ApplicationLoadBalancer(
            self,
            "Alb",
            vpc=vpc,
            internet_facing=False,
            vpc_subnets=subnets,
            security_group=self.security_group,
            drop_invalid_header_fields=True,
            deletion_protection=not config.disposable,
            # Longer than the longest synthesis, so the ALB never cuts a request the service is still working on.
            idle_timeout=cdk.Duration.seconds(drain_seconds(config)),
        )
        self.alb.log_access_logs(logs_bucket, prefix="alb")
        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "Targets",
            vpc=vpc,
            port=port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.INSTANCE,
            deregistration_delay=cdk.Duration.seconds(drain_seconds(config)),
            # A fresh instance has just loaded the model; ramp its share instead of handing it a full queue.
            slow_start=cdk.Duration.seconds(60),
            health_check=elbv2.HealthCheck(
                path=READINESS_PATH,
                port=str(port),
                healthy_http_codes="200",
                interval=cdk.Duration.seconds(15),
                timeout=cdk.Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
        )
        self.listener = self.alb.add_listener(
            "Http",
            port=ORIGIN_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            open=False,
            default_action=elbv2.ListenerAction.fixed_response(
                404, content_type="application/json", message_body=NOT_FOUND_BODY
            ),
        )
        self.listener.add_action(
            "Api",
            priority=10,
            conditions=[elbv2.ListenerCondition.path_patterns(list(forwarded_paths(config.cdn)))],
            action=elbv2.ListenerAction.forward([self.target_group]),
        )

    def admit_cloudfront(self, distribution: cloudfront.IDistribution) -> None:
        """Admit CloudFront's VPC-origin security group on the origin port (it exists once the origin is deployed)."""
        lookup = cr.AwsSdkCall(
            service="EC2",
            action="describeSecurityGroups",
            parameters={
                "Filters": [
                    {"Name": "vpc-id", "Values": [self.vpc.vpc_id]},
                    {"Name": "group-name", "Values": [VPC_ORIGINS_SECURITY_GROUP]},
                ]
            },
            physical_resource_id=cr.PhysicalResourceId.of(VPC_ORIGINS_SECURITY_GROUP),
            output_paths=["SecurityGroups.0.GroupId"],
        )
        found = cr.AwsCustomResource(
            self,
            "VpcOriginSecurityGroup",
            on_create=lookup,
            on_update=lookup,
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE),
            install_latest_aws_sdk=False,
        )
        # CloudFront creates the group while it deploys the VPC origin, which the distribution depends on.
        found.node.add_dependency(distribution)
        # A rule of its own, not inline in the group: the group exists before the origin, the rule only after it.
        ec2.CfnSecurityGroupIngress(
            self,
            "FromVpcOrigin",
            group_id=self.security_group.security_group_id,
            source_security_group_id=found.get_response_field("SecurityGroups.0.GroupId"),
            ip_protocol="tcp",
            from_port=ORIGIN_PORT,
            to_port=ORIGIN_PORT,
            description="CloudFront VPC origin",
        )
