"""Config values CloudFormation/EC2 would reject at deploy time fail at synth, naming the environment and key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from infra.app import build_app
from voicefleet_config import ConfigError, read_context


def _build(tmp_path: Path, env: str, patch: dict[str, Any]) -> None:
    environments = copy.deepcopy(read_context())
    for section, values in patch.items():
        if isinstance(values, dict):
            environments[env].setdefault(section, {}).update(values)
        else:
            environments[env][section] = values
    app = cdk.App(outdir=str(tmp_path), context={"environments": environments, "env": env})
    build_app(app)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"fleet": {"desired_capacity": 9}}, "environment 'prod': fleet: desired_capacity 9 is outside"),
        ({"fleet": {"instance_types": ["g5.xlarg"]}}, "did you mean 'g5.xlarge'"),
        ({"fleet": {"instance_types": ["p3.2xlarge"]}}, "fleet.instance_types: 'p3.2xlarge' is not supported"),
        ({"fleet": {"warm_pool": True}}, "fleet.warm_pool: a warm pool cannot hold Spot"),
        ({"network": {"max_azs": 3}}, "network.max_azs: 3 AZs need `account` set"),
        ({"timezone": "Asia/Shangai"}, "did you mean 'Asia/Shanghai'"),
        (
            {"region": "eu-west-1", "cdn": {"waf": {"enabled": True}}},
            "cdn.waf.enabled: a CloudFront web ACL must be created in us-east-1",
        ),
        (
            {
                "region": "eu-west-1",
                "cdn": {"domain_name": "tts.example.com", "hosted_zone": {"id": "Z0123456789", "name": "example.com"}},
            },
            "cdn.certificate_arn: a CloudFront certificate must be in us-east-1 and this stack deploys to eu-west-1",
        ),
    ],
)
def test_rejected_at_synth_with_the_key_named(tmp_path: Path, patch: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _build(tmp_path, "prod", patch)
    assert message in str(caught.value)
    assert str(caught.value).startswith("environment 'prod': ")


def test_warm_pool_with_on_demand_only_is_accepted(tmp_path: Path) -> None:
    _build(tmp_path, "prod", {"fleet": {"warm_pool": True, "on_demand_percentage_above_base": 100}})
