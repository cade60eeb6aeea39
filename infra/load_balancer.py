"""The load balancer: reachable only from CloudFront (origin-facing prefix list + a secret header)."""

from __future__ import annotations

import math

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.config import EnvironmentConfig

ORIGIN_HEADER = "X-Origin-Verify"
CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
READINESS_PATH = "/readyz"
# Seconds past the longest request the service allows, for the upload to S3 and the response to leave.
DRAIN_MARGIN_S = 30


def drain_seconds(config: EnvironmentConfig) -> int:
    """How long a deregistering target keeps its in-flight requests: the service's timeout plus a margin."""
    return math.ceil(config.service.request_timeout_s) + DRAIN_MARGIN_S


class LoadBalancer(Construct):
    """Internet-facing ALB on HTTP:80 that forwards to the fleet's target group only with CloudFront's secret header.

    The origin leg is HTTP because the default deployment has no domain of its own to put a certificate on; it is
    confined to CloudFront's address ranges and authenticated by the header (see docs/infra.md).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        vpc: ec2.IVpc,
        logs_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        port = config.fleet.service_port
        self.origin_secret = secretsmanager.Secret(
            self,
            "OriginSecret",
            description=f"voicefleet {config.name}: header value CloudFront sends and the ALB requires",
            generate_secret_string=secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=48),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.origin_header_value = self.origin_secret.secret_value.unsafe_unwrap()

        prefix_list = cr.AwsCustomResource(
            self,
            "CloudFrontPrefixList",
            on_update=cr.AwsSdkCall(
                service="EC2",
                action="describeManagedPrefixLists",
                parameters={"Filters": [{"Name": "prefix-list-name", "Values": [CLOUDFRONT_PREFIX_LIST]}]},
                physical_resource_id=cr.PhysicalResourceId.of(CLOUDFRONT_PREFIX_LIST),
                output_paths=["PrefixLists.0.PrefixListId"],
            ),
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE),
            install_latest_aws_sdk=False,
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "AlbSg",
            vpc=vpc,
            description="ALB: HTTP from CloudFront origin-facing ranges only",
            allow_all_outbound=False,
        )
        self.security_group.add_ingress_rule(
            ec2.Peer.prefix_list(prefix_list.get_response_field("PrefixLists.0.PrefixListId")),
            ec2.Port.tcp(80),
            "CloudFront origin-facing",
        )
        self.alb = elbv2.ApplicationLoadBalancer(
            self,
            "Alb",
            vpc=vpc,
            internet_facing=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
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
            port=80,
            protocol=elbv2.ApplicationProtocol.HTTP,
            open=False,
            default_action=elbv2.ListenerAction.fixed_response(
                403, content_type="application/json", message_body='{"detail":"forbidden"}'
            ),
        )
        self.listener.add_action(
            "FromCloudFront",
            priority=10,
            conditions=[elbv2.ListenerCondition.http_header(ORIGIN_HEADER, [self.origin_header_value])],
            action=elbv2.ListenerAction.forward([self.target_group]),
        )
