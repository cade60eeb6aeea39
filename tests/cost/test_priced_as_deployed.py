"""Regressions: `cost-estimate --env NAME` prices what cdk.json deploys for the environment, whatever the setting or
flag that changes it (the budget's limit, infra/budget.py, uses the same numbers)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pytest

from cost.cli import main
from cost.schedule import ALWAYS_ON_HOURS
from infra.budget import estimated_limit, purchase_of
from voicefleet_config import load_environments, read_context


def _cdk_json(tmp_path: Path, environments: dict[str, Any]) -> Path:
    path = tmp_path / "cdk.json"
    path.write_text(json.dumps({"context": {"environments": environments}}), encoding="utf-8")
    return path


def _price(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main([*args, "--format", "json"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def test_disabled_schedule_is_priced_always_on_as_the_budget_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Bug: schedule.enabled false (no start/stop schedules: the fleet runs 24/7) was priced as business hours
    # (prod: 194.61 h, g5.2xlarge Spot $476.48) while the budget's limit counted 730 h (g5.2xlarge $764.08).
    environments = copy.deepcopy(read_context())
    environments["prod"]["schedule"]["enabled"] = False
    cdk_json = _cdk_json(tmp_path, environments)
    data = _price(capsys, "--env", "prod", "--cdk-json", str(cdk_json))
    assert data["hours_per_month"] == ALWAYS_ON_HOURS
    assert data["hours_basis"].startswith("always on")
    # The same as --always-on, which the fleet then is; --month cannot make it business hours either.
    assert _price(capsys, "--env", "prod", "--cdk-json", str(cdk_json), "--always-on") == data
    assert _price(capsys, "--env", "prod", "--cdk-json", str(cdk_json), "--month", "2026-05")["hours_per_month"] == (
        ALWAYS_ON_HOURS
    )

    env = load_environments(cdk_json)["prod"]
    limit = estimated_limit(env, year=dt.date.today().year)  # the CLI's typical month is today's year too
    own = [o for o in data["options"] if o["source"] == "environment" and o["purchase"] == purchase_of(env)]
    assert {o["instance_type"] for o in own} == set(env.fleet.instance_types)
    assert f"{ALWAYS_ON_HOURS:g} h/month" in limit.detail
    for option in own:
        assert f"{option['instance_type']} ${option['monthly']['total']:.2f}" in limit.detail
    assert limit.usd == math.ceil(max(o["monthly"]["total"] for o in own))


@pytest.mark.parametrize(("configured", "flag"), [(True, "--fp32"), (False, "--fp16")])
def test_precision_flag_prices_as_the_same_setting_in_cdk_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], configured: bool, flag: str
) -> None:
    # Bug: --fp32 priced prod's own fleet at fp32 speed but kept the fp16-derived admission slots and reported the
    # fp16 scaling contract (max_concurrency 2, sized for g5.2xlarge; "g5.xlarge needs 14 instances"), where
    # service.fp16 false in cdk.json gives 1 slot, sized for g6.xlarge, and no feasible g5.xlarge fleet.
    environments = copy.deepcopy(read_context())
    environments["prod"]["service"]["fp16"] = configured
    flipped = copy.deepcopy(environments)
    flipped["prod"]["service"]["fp16"] = not configured
    by_flag = _price(capsys, "--env", "prod", "--cdk-json", str(_cdk_json(tmp_path, environments)), flag)
    by_config = _price(capsys, "--env", "prod", "--cdk-json", str(_cdk_json(tmp_path, flipped)))
    assert by_flag["precision"] == ("fp32" if configured else "fp16")
    assert by_flag["service"] == by_config["service"]
    own = [o for o in by_config["options"] if o["source"] == "environment"]
    assert own
    assert [o for o in by_flag["options"] if o["source"] == "environment"] == own
    assert by_flag == by_config  # catalog alternatives and the recommendation too


def test_a_nat_environment_prices_the_one_nat_gateway_its_vpc_gets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Bug: with network.nat on, the cost model priced one NAT gateway per AZ (max_azs) while infra/network.py gives
    # the VPC one: ~$33 a month too much for each AZ past the first. Both now read NetworkConfig.nat_gateways.
    def network(max_azs: int) -> dict[str, float]:
        environments = copy.deepcopy(read_context())
        environments["prod"]["network"] = {"nat": True, "max_azs": max_azs}
        data = _price(capsys, "--env", "prod", "--cdk-json", str(_cdk_json(tmp_path, environments)))
        return {o["instance_type"] + o["purchase"]: o["monthly"]["network"] for o in data["options"]}

    two, three = network(2), network(3)
    assert two
    assert two == three
