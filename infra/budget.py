"""AWS Budgets: a monthly cost budget for this environment's tagged resources, alerting to the SNS topic."""

from __future__ import annotations

from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import AlertingConfig

ENV_TAG_KEY = "voicefleet:env"
# (notification type, percent of the limit): early warning on actual spend, and a forecast overrun.
THRESHOLDS: tuple[tuple[str, float], ...] = (("ACTUAL", 80.0), ("ACTUAL", 100.0), ("FORECASTED", 100.0))


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
