"""One synthesis of every environment (plus two variants) with cdk-nag on, shared by infra and cost tests.

Imported lazily by the `synth` fixture in tests/conftest.py, so test runs that never synthesize skip aws_cdk.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

from infra.app import add_nag, build_app
from voicefleet_config import read_context

# The date the calendar-coverage check at synth takes as today (infra/schedule.py), so the suite does not start
# failing on the first day of a year nobody has added to cdk.json yet: that failure belongs to `cdk synth`.
CALENDAR_TODAY = "2026-12-01"
# A variant that takes the branches cdk.json's environments do not: NAT, warm pool (on-demand only), custom domain,
# no schedule, no budget.
VARIANT = "edge"
VARIANT_CONFIG: dict[str, Any] = {
    "region": "eu-west-1",
    "timezone": "Europe/Berlin",
    "disposable": True,
    "schedule": {"enabled": False},
    "fleet": {
        "instance_types": ["g5.xlarge"],
        "min_capacity": 0,
        "max_capacity": 2,
        "desired_capacity": 1,
        "on_demand_percentage_above_base": 100,
        "warm_pool": True,
    },
    "cdn": {
        "price_class": "PriceClass_All",
        "domain_name": "tts.example.com",
        "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555",
    },
    "network": {"nat": True},
    "alerting": {},
}
# A variant for the front door's options: a custom domain whose certificate and alias the stack creates in a hosted
# zone, the try-it page through CloudFront, and the WAF web ACL (all need us-east-1).
FRONT = "front"
FRONT_CONFIG: dict[str, Any] = {
    "region": "us-east-1",
    "timezone": "UTC",
    "disposable": True,
    "fleet": {"instance_types": ["g6.xlarge"], "min_capacity": 0, "max_capacity": 1, "desired_capacity": 1},
    "cdn": {
        "price_class": "PriceClass_100",
        "domain_name": "tts.example.com",
        "hosted_zone": {"id": "Z0123456789ABCDEFGHIJ", "name": "example.com"},
        "try_it_page": True,
        "waf": {"enabled": True, "rate_limit": 600, "window_s": 300},
    },
    "alerting": {"monthly_budget_usd": 100},
}


@dataclass(frozen=True)
class Synth:
    outdir: Path
    seconds: float
    raw: dict[str, dict[str, Any]]  # environment name -> template JSON

    def template(self, env: str) -> Template:
        return Template.from_json(self.raw[env])


def synthesize(outdir: Path) -> Synth:
    """cdk.json's environments plus the variants, synthesized once with cdk-nag into `outdir`."""
    environments = {**read_context(), VARIANT: VARIANT_CONFIG, FRONT: FRONT_CONFIG}
    started = time.perf_counter()
    app = cdk.App(outdir=str(outdir), context={"environments": environments, "calendar_today": CALENDAR_TODAY})
    add_nag(app)
    stacks = build_app(app)
    app.synth()  # raises ValidationFailed on any unacknowledged cdk-nag finding
    seconds = time.perf_counter() - started

    def read(name: str) -> dict[str, Any]:
        template: dict[str, Any] = json.loads((outdir / f"{name}.template.json").read_text(encoding="utf-8"))
        return template

    raw = {stack.config.name: read(stack.stack_name) for stack in stacks}
    # The runtime image of each region, shared by its environments (keyed "image-<region>").
    for stack in stacks:
        if stack.image_stack is not None:
            raw[f"image-{stack.config.region}"] = read(stack.image_stack.stack_name)
    return Synth(outdir=outdir, seconds=seconds, raw=raw)
