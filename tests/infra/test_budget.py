"""The monthly AWS Budget: the configured limit, or the cost model's estimate for the environment's fleet."""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
from typing import Any

import pytest
from aws_cdk.assertions import Template

from cost.catalog import instance
from infra.budget import budget_limit, purchase_of
from tests.infra.conftest import VARIANT, VARIANT_CONFIG, Synth, only
from voicefleet_config import ConfigError, EnvironmentConfig, load_environments, read_context

YEAR = 2026


def _budget(template: Template) -> dict[str, Any]:
    props: dict[str, Any] = only(template, "AWS::Budgets::Budget")["Properties"]
    return props


def _source(synth: Synth, env: str) -> str:
    value: str = synth.raw[env]["Outputs"]["BudgetLimitSource"]["Value"]
    return value


def _env(**changes: Any) -> EnvironmentConfig:
    """dev from cdk.json without a budget, with top-level keys or `fleet`/`schedule` entries changed."""
    raw = copy.deepcopy(read_context()["dev"])
    raw["alerting"] = {}
    for key, value in changes.items():
        if key in ("fleet", "schedule"):
            raw[key].update(value)
        else:
            raw[key] = value
    return load_environments(raw={"t": raw})["t"]


def test_configured_budget_is_the_limit(prod: Template, dev: Template, synth: Synth) -> None:
    budget = _budget(prod)
    assert budget["Budget"]["BudgetLimit"] == {"Amount": 500, "Unit": "USD"}
    assert budget["Budget"]["BudgetName"] == "voicefleet-prod-monthly"
    assert budget["Budget"]["TimeUnit"] == "MONTHLY"
    assert budget["Budget"]["CostFilters"] == {"TagKeyValue": ["user:voicefleet:env$prod"]}
    thresholds = sorted(
        (n["Notification"]["NotificationType"], n["Notification"]["Threshold"])
        for n in budget["NotificationsWithSubscribers"]
    )
    assert thresholds == [("ACTUAL", 80), ("ACTUAL", 100), ("FORECASTED", 100)]
    assert _source(synth, "prod") == "config: alerting.monthly_budget_usd = 500 USD"
    assert _budget(dev)["Budget"]["BudgetLimit"]["Amount"] == 150
    assert "config" in synth.raw["dev"]["Outputs"]["BudgetLimitSource"]["Description"]


def test_without_a_configured_budget_the_cost_model_sets_it(edge: Template, synth: Synth) -> None:
    """The variant has no `alerting.monthly_budget_usd`: g5.xlarge on-demand in eu-west-1, never stopped, as many as
    the SLO needs in each hour (the hourly fleet, issue 14)."""
    amount = _budget(edge)["Budget"]["BudgetLimit"]["Amount"]
    config = load_environments(raw={VARIANT: VARIANT_CONFIG})[VARIANT]
    assert amount == budget_limit(config, year=dt.date.today().year).usd  # the synth's year
    assert float(amount).is_integer()
    # At least one instance on-demand for 730 h; the peak hours' extra instances, storage, ALB, NAT, IPv4 on top.
    compute = 730 * instance("g5.xlarge").on_demand["eu-west-1"].usd_per_hour
    assert compute < amount
    source = _source(synth, VARIANT)
    assert source.startswith("cost model: on-demand, 730 h/month")
    total = re.search(r"g5\.xlarge \$(\d+\.\d\d)", source)
    assert total is not None, source
    assert amount == math.ceil(float(total.group(1)))  # rounded up, never down
    assert "cost-model" in synth.raw[VARIANT]["Outputs"]["BudgetLimitSource"]["Description"]


def test_estimate_is_the_dearest_configured_type() -> None:
    """Price-capacity-optimized may land on any configured type: the limit covers the dearest one."""
    types = ["g4dn.xlarge", "g6.xlarge", "g5.xlarge"]
    each = {t: budget_limit(_env(fleet={"instance_types": [t]}), year=YEAR).usd for t in types}
    assert len(set(each.values())) > 1  # else the test could not tell max from min
    combined = budget_limit(_env(fleet={"instance_types": types}), year=YEAR)
    assert combined.source == "cost-model"
    assert combined.usd == max(each.values())
    for itype in types:
        assert itype in combined.detail


def test_estimate_follows_purchase_mix_and_schedule() -> None:
    spot = budget_limit(_env(), year=YEAR).usd
    on_demand = budget_limit(_env(fleet={"on_demand_percentage_above_base": 100}), year=YEAR).usd
    always_on = budget_limit(_env(schedule={"enabled": False}), year=YEAR).usd
    assert spot < on_demand
    assert spot < always_on
    assert "typical month of 2026" in budget_limit(_env(), year=YEAR).detail


@pytest.mark.parametrize(
    ("base", "percent", "expected"),
    [(0, 0, "spot"), (0, 100, "on-demand"), (1, 100, "on-demand"), (1, 0, "mix"), (0, 50, "mix")],
)
def test_purchase_option_from_the_fleet_mix(base: int, percent: int, expected: str) -> None:
    config = _env(fleet={"on_demand_base_capacity": base, "on_demand_percentage_above_base": percent})
    assert purchase_of(config) == expected


def test_unpriceable_fleet_without_a_budget_names_the_key() -> None:
    config = _env(region="eu-west-1", fleet={"instance_types": ["g6.xlarge"]})
    with pytest.raises(ConfigError, match=r"alerting\.monthly_budget_usd is not set .*g6\.xlarge"):
        budget_limit(config, year=YEAR)
