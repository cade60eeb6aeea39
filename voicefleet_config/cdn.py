"""The front door's config (`cdn` in cdk.json): price class, custom domain, try-it page and the optional WAF.

Pure pydantic like the rest of the config (no aws_cdk import). Cross-section rules that need the region (a CloudFront
certificate or web ACL must live in us-east-1) are deployability checks in infra/checks.py.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# A DNS name of two or more labels, lowercase (CloudFront aliases are case-insensitive; one spelling avoids drift).
_HOSTNAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]")
_ZONE_ID = re.compile(r"Z[0-9A-Z]{1,31}")
CLOUDFRONT_CERT_REGION = "us-east-1"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _hostname(value: str, what: str) -> str:
    if not _HOSTNAME.fullmatch(value):
        raise ValueError(f"'{value}' is not a lowercase DNS name for {what} (e.g. 'tts.example.com')")
    return value


class HostedZoneConfig(_Frozen):
    """A Route 53 public hosted zone the stack adds the alias (and certificate validation) records to.

    Both id and name are given, so synth needs no AWS lookup (HostedZone.from_hosted_zone_attributes).
    """

    id: str
    name: str

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ZONE_ID.fullmatch(value):
            raise ValueError(f"'{value}' is not a Route 53 hosted zone id (e.g. 'Z0123456789ABCDEFGHIJ')")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _hostname(value.removesuffix("."), "the hosted zone")


class WafConfig(_Frozen):
    """An AWS WAF web ACL on the distribution: a rate limit per client IP on /v1/* and AWS's common rule set."""

    enabled: bool = False
    # Requests one client IP may make to /v1/* per window before WAF blocks it (AWS WAF accepts 10..2e9). 300 per
    # 5 minutes is one synthesis a second, about a third of the default prod fleet's capacity (docs/infra.md).
    rate_limit: Annotated[int, Field(ge=10, le=2_000_000_000)] = 300
    window_s: Literal[60, 120, 300, 600] = 300

    @property
    def rules(self) -> int:
        """Rules in the web ACL (what AWS WAF bills per month; a managed rule group counts as one rule)."""
        return 2 if self.enabled else 0


class CdnConfig(_Frozen):
    """CloudFront: price class, optional custom domain (certificate + DNS), the try-it page, the optional WAF."""

    price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = "PriceClass_100"
    domain_name: str | None = None
    # An existing ACM certificate in us-east-1 for domain_name; without it, hosted_zone lets the stack create one.
    certificate_arn: str | None = None
    # Where the alias record (and a created certificate's validation record) go; without it, point DNS yourself.
    hosted_zone: HostedZoneConfig | None = None
    # Serve the service's try-it page (`/` and `/static/*`) through CloudFront; off: only the API and audio.
    try_it_page: bool = False
    waf: WafConfig = WafConfig()

    @field_validator("domain_name")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        return None if value is None else _hostname(value, "the distribution")

    @model_validator(mode="after")
    def _cert(self) -> CdnConfig:
        arn, zone, domain = self.certificate_arn, self.hosted_zone, self.domain_name
        if arn and not arn.startswith(f"arn:aws:acm:{CLOUDFRONT_CERT_REGION}:"):
            raise ValueError(f"certificate_arn '{arn}' is not an ACM certificate in us-east-1 (CloudFront needs one)")
        if domain is None and (arn or zone):
            given = "certificate_arn" if arn else "hosted_zone"
            raise ValueError(f"{given} is set but domain_name is not (the certificate and DNS record are for it)")
        if domain is not None and not (arn or zone):
            raise ValueError(
                f"domain_name '{domain}' needs hosted_zone (the stack creates the certificate and alias) or "
                "certificate_arn (an ACM certificate in us-east-1; you point DNS at the distribution)"
            )
        if domain is not None and zone is not None and not (domain == zone.name or domain.endswith(f".{zone.name}")):
            raise ValueError(f"domain_name '{domain}' is not inside hosted_zone '{zone.name}'")
        return self
