"""Business hours: EventBridge Scheduler starts the fleet before opening and stops it at closing, every day, and
reconciles it every 15 minutes.

The schedules fire daily in the environment's timezone; the scheduler Lambda decides whether the day is a workday
(weekdays, holidays and make-up workdays from the config), so a make-up Saturday works without a new schedule. The
reconcile run brings the fleet to the state wanted now (manual override, workday, open window): an `on-until`
override ends within 15 minutes of its time, and an override set mid-day takes effect without waiting for a daily run.
"""

from __future__ import annotations

import datetime as dt

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from constructs import Construct

from infra.functions import METRIC_NAMESPACE, PythonFunction, dead_letter_queue
from voicefleet_config import EnvironmentConfig

SIZE_TAG_KEY = "voicefleet:running-size"
OVERRIDE_TAG_KEY = "voicefleet:override"
# Every 15 minutes, at :00/:15/:30/:45 local time: an on-until override ends at most 15 minutes late.
RECONCILE_MINUTES = 15


def start_time(config: EnvironmentConfig) -> dt.time:
    """Opening minus warm-up (the config refuses a warm-up that reaches back before midnight)."""
    opening = config.schedule.start_time
    minutes = opening.hour * 60 + opening.minute - config.schedule.warmup_minutes
    return dt.time(minutes // 60, minutes % 60)


def open_window(config: EnvironmentConfig) -> str:
    """OPEN_WINDOW: "HH:MM-HH:MM" from opening minus warm-up to closing, when the fleet should be up on a workday."""
    return f"{start_time(config):%H:%M}-{config.schedule.stop_time:%H:%M}"


def scheduler_environment(config: EnvironmentConfig, asg_name: str) -> dict[str, str]:
    """The scheduler Lambda's environment, exactly as the contract with lambdas/ names it."""
    fleet = config.fleet
    return {
        "ASG_NAMES": asg_name,
        "TIMEZONE": config.timezone,
        "WEEKDAYS": ",".join(config.schedule.weekdays),
        "HOLIDAYS": ",".join(day.isoformat() for day in config.schedule.holidays),
        "EXTRA_WORKDAYS": ",".join(day.isoformat() for day in config.schedule.extra_workdays),
        "OPEN_WINDOW": open_window(config),
        "SIZE_TAG_KEY": SIZE_TAG_KEY,
        "DEFAULT_SIZE": f"{fleet.min_capacity}-{fleet.desired_capacity}-{fleet.max_capacity}",
        "OVERRIDE_TAG_KEY": OVERRIDE_TAG_KEY,
        "METRIC_NAMESPACE": METRIC_NAMESPACE,
        "ENV_NAME": config.name,
    }


class Schedule(Construct):
    """Scheduler Lambda + daily start/stop and 15-minute reconcile schedules, with retries and a dead-letter queue."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, asg_name: str, asg_arn: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = PythonFunction(
            self,
            "Handler",
            handler="lambdas.scheduler.handler.handler",
            description=f"voicefleet {config.name}: start/stop the GPU fleet on business hours",
            environment=scheduler_environment(config, asg_name),
            # Stop waits for the drain of in-flight work before setting capacity to 0.
            timeout=cdk.Duration.minutes(5),
            retain_logs=not config.disposable,
        )
        self.function = self.handler.function
        self.handler.allow_metrics()
        self._grant_group_access(asg_arn)
        self.dead_letters = dead_letter_queue(self)
        self.schedules: list[scheduler.Schedule] = []
        if not config.schedule.enabled:
            return
        tz = cdk.TimeZone.of(config.timezone)
        for action, at in (("start", start_time(config)), ("stop", config.schedule.stop_time)):
            self._add(
                config,
                action,
                f"{action} at {at:%H:%M} {config.timezone}, every day",
                scheduler.ScheduleExpression.cron(minute=str(at.minute), hour=str(at.hour), time_zone=tz),
            )
        self._add(
            config,
            "reconcile",
            f"reconcile every {RECONCILE_MINUTES} minutes ({config.timezone}): override, workday, open window",
            scheduler.ScheduleExpression.cron(minute=f"0/{RECONCILE_MINUTES}", time_zone=tz),
        )

    def _add(self, config: EnvironmentConfig, action: str, what: str, expression: scheduler.ScheduleExpression) -> None:
        """One schedule invoking the function with {"action": action}: 3 retries within an hour, then the DLQ."""
        target = targets.LambdaInvoke(
            self.function,
            input=scheduler.ScheduleTargetInput.from_object({"action": action}),
            dead_letter_queue=self.dead_letters,
            retry_attempts=3,
            max_event_age=cdk.Duration.hours(1),
        )
        self.schedules.append(
            scheduler.Schedule(
                self,
                f"{action.title()}Schedule",
                description=f"voicefleet {config.name}: {what}",
                schedule=expression,
                target=target,
            )
        )

    def _grant_group_access(self, asg_arn: str) -> None:
        """Exactly the Auto Scaling calls of lambdas/scheduler (groups.py), each on this environment's group only.

        tests/infra/test_lambda_permissions.py derives the calls from the handler's source and fails on any call
        not granted here, and on any grant no call needs.
        """
        role = self.handler.role
        # Read the group's size and tags (paginated); DescribeAutoScalingGroups supports no resource-level scoping.
        role.add_to_policy(iam.PolicyStatement(actions=["autoscaling:DescribeAutoScalingGroups"], resources=["*"]))
        role.add_to_policy(iam.PolicyStatement(actions=["autoscaling:UpdateAutoScalingGroup"], resources=[asg_arn]))
        # Tag writes are limited to the one key each call touches (aws:TagKeys, EC2 Auto Scaling user guide,
        # "Control access to tags"): save the running size at stop, remove an expired "on-until" override.
        for action, key in (
            ("autoscaling:CreateOrUpdateTags", SIZE_TAG_KEY),
            ("autoscaling:DeleteTags", OVERRIDE_TAG_KEY),
        ):
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=[action],
                    resources=[asg_arn],
                    conditions={"ForAllValues:StringEquals": {"aws:TagKeys": [key]}},
                )
            )
