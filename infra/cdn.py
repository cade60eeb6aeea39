"""CloudFront: /audio/* from the outputs bucket (OAC), the API from the ALB (no caching), HTTPS only."""

from __future__ import annotations

import math

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import CdnConfig, ServiceConfig
from infra.load_balancer import ORIGIN_HEADER
from infra.storage import OUTPUTS_PREFIX

_PRICE_CLASS = {
    "PriceClass_100": cloudfront.PriceClass.PRICE_CLASS_100,
    "PriceClass_200": cloudfront.PriceClass.PRICE_CLASS_200,
    "PriceClass_All": cloudfront.PriceClass.PRICE_CLASS_ALL,
}
# CloudFront's default origin response timeout ceiling without a quota increase (CloudFront quotas page).
_MAX_ORIGIN_READ_TIMEOUT_S = 60
API_PATHS = ("/v1/*", "/healthz")


class Cdn(Construct):
    """One distribution in front of everything; the default behavior (`/`, the web page) goes to the ALB too."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: CdnConfig,
        service: ServiceConfig,
        outputs_bucket: s3.IBucket,
        logs_bucket: s3.IBucket,
        alb: elbv2.IApplicationLoadBalancer,
        origin_header_value: str,
    ) -> None:
        super().__init__(scope, construct_id)
        alb_origin = origins.LoadBalancerV2Origin(
            alb,
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTP_ONLY,
            custom_headers={ORIGIN_HEADER: origin_header_value},
            read_timeout=cdk.Duration.seconds(min(_MAX_ORIGIN_READ_TIMEOUT_S, math.ceil(service.request_timeout_s))),
        )
        api = cloudfront.BehaviorOptions(
            origin=alb_origin,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            # Everything but Host: the ALB's own name must reach it, and API keys travel in headers.
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        )
        audio = cloudfront.BehaviorOptions(
            origin=origins.S3BucketOrigin.with_origin_access_control(outputs_bucket),
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
            cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
            compress=False,  # audio is already compressed or would not shrink much as PCM/WAV over gzip
        )
        domain_names = [config.domain_name] if config.domain_name else None
        certificate = (
            acm.Certificate.from_certificate_arn(self, "Certificate", config.certificate_arn)
            if config.certificate_arn
            else None
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"voicefleet {cdk.Stack.of(self).stack_name}",
            default_behavior=api,
            additional_behaviors={
                f"/{OUTPUTS_PREFIX}*": audio,
                **dict.fromkeys(API_PATHS, api),
            },
            price_class=_PRICE_CLASS[config.price_class],
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            # Only a custom certificate can raise the TLS floor; the *.cloudfront.net one is fixed by CloudFront.
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if certificate else None,
            domain_names=domain_names,
            certificate=certificate,
            enable_logging=True,
            log_bucket=logs_bucket,
            log_file_prefix="cloudfront/",
        )
        self.domain_name = config.domain_name or self.distribution.distribution_domain_name
