"""CloudFront, the only front door: `/v1/*` to the internal ALB (VPC origin, no caching), `/audio/*` from the outputs
bucket (OAC), the try-it page when enabled; every other path is answered 404 at the edge by a CloudFront Function."""

from __future__ import annotations

import json
import math
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.load_balancer import API_PATHS, ORIGIN_PORT, TRY_IT_PATHS
from infra.storage import OUTPUTS_PREFIX
from voicefleet_config import CdnConfig, ServiceConfig

_PRICE_CLASS = {
    "PriceClass_100": cloudfront.PriceClass.PRICE_CLASS_100,
    "PriceClass_200": cloudfront.PriceClass.PRICE_CLASS_200,
    "PriceClass_All": cloudfront.PriceClass.PRICE_CLASS_ALL,
}
# CloudFront's default origin response timeout ceiling without a quota increase (CloudFront quotas page).
_MAX_ORIGIN_READ_TIMEOUT_S = 60
GATE_SOURCE = Path(__file__).with_name("cdn_gate.js")


def gate_code(cdn: CdnConfig) -> str:
    """The default behaviour's viewer-request function: passes `/` when the try-it page is on, else answers 404."""
    allowed = [path for path in TRY_IT_PATHS if "*" not in path] if cdn.try_it_page else []
    return GATE_SOURCE.read_text(encoding="utf-8").replace("__ALLOWED__", json.dumps(allowed))


class Cdn(Construct):
    """One distribution in front of everything, with the optional custom domain (certificate, alias) and web ACL."""

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
        web_acl_arn: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        # CloudFront reaches the internal ALB through its own ENIs in the VPC: no public path, no shared secret.
        alb_origin = origins.VpcOrigin.with_application_load_balancer(
            alb,
            http_port=ORIGIN_PORT,
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTP_ONLY,
            read_timeout=cdk.Duration.seconds(min(_MAX_ORIGIN_READ_TIMEOUT_S, math.ceil(service.request_timeout_s))),
        )
        api = cloudfront.BehaviorOptions(
            origin=alb_origin,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            # Everything but Host: API keys travel in headers; the ALB needs no particular Host.
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        )
        page = cloudfront.BehaviorOptions(
            origin=alb_origin,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        )
        self.gate = cloudfront.Function(
            self,
            "Gate",
            code=cloudfront.FunctionCode.from_inline(gate_code(config)),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment="404 for every path outside the API, audio and try-it page",
        )
        default = cloudfront.BehaviorOptions(
            origin=alb_origin,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            function_associations=[
                cloudfront.FunctionAssociation(
                    function=self.gate, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                )
            ],
        )
        audio = cloudfront.BehaviorOptions(
            origin=origins.S3BucketOrigin.with_origin_access_control(outputs_bucket),
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
            cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
            compress=False,  # audio is already compressed or would not shrink much as PCM/WAV over gzip
        )
        behaviors = {f"/{OUTPUTS_PREFIX}*": audio, **dict.fromkeys(API_PATHS, api)}
        if config.try_it_page:
            behaviors.update(dict.fromkeys((p for p in TRY_IT_PATHS if "*" in p), page))

        zone = (
            route53.HostedZone.from_hosted_zone_attributes(
                self, "Zone", hosted_zone_id=config.hosted_zone.id, zone_name=config.hosted_zone.name
            )
            if config.hosted_zone
            else None
        )
        certificate = self._certificate(config, zone)
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"voicefleet {cdk.Stack.of(self).stack_name}",
            default_behavior=default,
            additional_behaviors=behaviors,
            price_class=_PRICE_CLASS[config.price_class],
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            # Only a custom certificate can raise the TLS floor; the *.cloudfront.net one is fixed by CloudFront.
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if certificate else None,
            domain_names=[config.domain_name] if config.domain_name else None,
            certificate=certificate,
            web_acl_id=web_acl_arn,
            enable_logging=True,
            log_bucket=logs_bucket,
            log_file_prefix="cloudfront/",
        )
        if zone is not None and config.domain_name:
            target = route53.RecordTarget.from_alias(targets.CloudFrontTarget(self.distribution))
            route53.ARecord(self, "Alias", zone=zone, record_name=config.domain_name, target=target)
            route53.AaaaRecord(self, "AliasIpv6", zone=zone, record_name=config.domain_name, target=target)
        self.domain_name = config.domain_name or self.distribution.distribution_domain_name

    def _certificate(self, config: CdnConfig, zone: route53.IHostedZone | None) -> acm.ICertificate | None:
        """The given us-east-1 certificate, or one this stack creates and validates in the hosted zone."""
        if config.certificate_arn:
            return acm.Certificate.from_certificate_arn(self, "Certificate", config.certificate_arn)
        if zone is not None and config.domain_name:
            # infra/checks.py guarantees this stack is in us-east-1, where CloudFront takes certificates from.
            return acm.Certificate(
                self,
                "Certificate",
                domain_name=config.domain_name,
                validation=acm.CertificateValidation.from_dns(zone),
            )
        return None
