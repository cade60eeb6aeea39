"""AWS Budgets: a monthly cost budget for this environment's tagged resources, alerting to the SNS topic.

The limit is `alerting.monthly_budget_usd`, or, when the config sets none, the cost model's monthly estimate for
the environment's own fleet (cost/, pure Python: no aws_cdk import there).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Literal

from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_sns as sns
from constructs import Construct

from cost.estimator import Scenario, estimate
from cost.schedule import always_on_hours, typical_month_hours
from infra.names import ENV_TAG_KEY
from voicefleet_config import AlertingConfig, ConfigError, EnvironmentConfig

__all__ = ["ENV_TAG_KEY", "THRESHOLDS", "Budget", "BudgetLimit", "budget_limit"]

# (notification type, percent of the limit): early warning on actual spend, and a forecast overrun.
THRESHOLDS: tuple[tuple[str, float], ...] = (("ACTUAL", 80.0), ("ACTUAL", 100.0), ("FORECASTED", 100.0))


@dataclass(frozen=True)
class BudgetLimit:
    """The monthly limit in whole USD and where it came from (shown in the stack's BudgetLimitSource output)."""

    usd: float
    source: Literal["config", "cost-model"]
    detail: str


def budget_limit(config: EnvironmentConfig, *, year: int | None = None) -> BudgetLimit:
    """The configured budget, else the cost model's estimate for the environment's configured fleet."""
    if config.alerting.monthly_budget_usd is not None:
        usd = config.alerting.monthly_budget_usd
        return BudgetLimit(usd, "config", f"config: alerting.monthly_budget_usd = {usd:g} USD")
    return estimated_limit(config, year=year or dt.date.today().year)


def purchase_of(config: EnvironmentConfig) -> Literal["on-demand", "spot", "mix"]:
    """The cost model's purchase option for the ASG's on-demand base / percentage above base."""
    fleet = config.fleet
    if fleet.on_demand_percentage_above_base == 100:
        return "on-demand"
    if fleet.on_demand_base_capacity == 0 and fleet.on_demand_percentage_above_base == 0:
        return "spot"
    return "mix"


def estimated_limit(config: EnvironmentConfig, *, year: int) -> BudgetLimit:
    """Monthly total of the configured instance types at the configured purchase mix, rounded up to whole USD.

    Price-capacity-optimized allocation may run the fleet on any configured type, so the limit is the dearest
    type's total: a budget that fired whenever the fleet landed on the pricier type would be noise. Without a
    schedule the fleet never stops, so the month is 730 h; otherwise the typical month of `year` (its holidays).
    """
    purchase = purchase_of(config)
    schedule = config.schedule
    hours = typical_month_hours(schedule, year) if schedule.enabled else always_on_hours(schedule, year)
    key = "alerting.monthly_budget_usd"
    try:
        report = estimate(
            Scenario(
                env=config,
                hours=hours,
                purchases=(purchase,),
                instance_types=config.fleet.instance_types,
                fp16=config.service.fp16,
            )
        )
    except (KeyError, ValueError) as exc:  # cost.errors.CostInputError is a ValueError
        raise ConfigError(f"environment '{config.name}': {key} is not set and the cost model failed: {exc}") from exc
    own = [o for o in report.options if o.source == "environment"]
    priced = [(o, o.monthly.total) for o in own if o.monthly.total is not None]
    if not priced:
        why = "; ".join(r for o in own for r in o.reasons)
        raise ConfigError(
            f"environment '{config.name}': {key} is not set and the cost model cannot price fleet.instance_types "
            f"in {config.region} ({why}); set {key}"
        )
    total = max(t for _, t in priced)
    totals = ", ".join(f"{o.instance_type} ${t:.2f}" for o, t in priced)
    month = f"{report.hours_per_month:g} h/month ({report.hours_basis})"
    detail = (
        f"cost model: {purchase}, {month}; highest monthly total of {totals} -> {math.ceil(total)} USD "
        f"(prices as of {report.catalog.as_of})"
    )
    return BudgetLimit(float(math.ceil(total)), "cost-model", detail)


class Budget(Construct):
    """Monthly budget limited to `limit_usd`, filtered on the environment's cost-allocation tag."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AlertingConfig,
        env_name: str,
        limit_usd: float,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        subscribers = [budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=topic.topic_arn)]
        if config.email:
            subscribers.append(budgets.CfnBudget.SubscriberProperty(subscription_type="EMAIL", address=config.email))
        self.budget = budgets.CfnBudget(
            self,
            "Monthly",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=f"voicefleet-{env_name}-monthly",
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=round(limit_usd, 2), unit="USD"),
                # Only counts once `voicefleet:env` is activated as a cost allocation tag (docs/infra.md).
                cost_filters={"TagKeyValue": [f"user:{ENV_TAG_KEY}${env_name}"]},
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        notification_type=kind,
                        comparison_operator="GREATER_THAN",
                        threshold=percent,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=subscribers,
                )
                for kind, percent in THRESHOLDS
            ],
        )
