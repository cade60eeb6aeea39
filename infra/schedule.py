"""Business hours: EventBridge Scheduler starts the fleet before opening and stops it at closing, every day, and
reconciles it every 15 minutes; an Auto Scaling scheduled action at closing backs the stop up.

The schedules fire daily in the environment's timezone; the scheduler Lambda decides whether the day is a workday
(weekdays, holidays and make-up workdays from the calendar), so a make-up Saturday works without a new schedule. The
reconcile run brings the fleet to the state wanted now (manual override, workday, open window): an `on-until`
override ends within 15 minutes of its time, and an override set mid-day takes effect without waiting for a daily run.
The closing scheduled action sets the group to 0-0-0 whatever the Lambda does (lambdas/scheduler/backstop.py says
how the two agree); the Lambda also plans a one-time opening action for the next workday.
"""

from __future__ import annotations

import datetime as dt

import aws_cdk as cdk
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from constructs import Construct

from infra.functions import METRIC_NAMESPACE, AsyncInvoke, PythonFunction, dead_letter_queue
from voicefleet_config import ConfigError, EnvironmentConfig
from voicefleet_config.calendar import ANNOUNCED_YEARLY, official_through
from voicefleet_config.library_cache import library_version

SIZE_TAG_KEY = "voicefleet:running-size"
OVERRIDE_TAG_KEY = "voicefleet:override"
# Every 15 minutes, at :00/:15/:30/:45 local time: an on-until override ends at most 15 minutes late.
RECONCILE_MINUTES = 15
# Synth warns when the calendar's coverage ends sooner than this (China's notice for a year comes out in
# November or December of the year before).
COVERAGE_WARNING_DAYS = 60
# Context flags: deploy with a calendar that does not cover the current year; pin "today" (tests, rehearsals).
ALLOW_UNCOVERED_CONTEXT = "allow_uncovered_calendar"
TODAY_CONTEXT = "calendar_today"


def start_time(config: EnvironmentConfig) -> dt.time:
    """Opening minus warm-up (the config refuses a warm-up that reaches back before midnight)."""
    opening = config.schedule.start_time
    minutes = opening.hour * 60 + opening.minute - config.schedule.warmup
    return dt.time(minutes // 60, minutes % 60)


def open_window(config: EnvironmentConfig) -> str:
    """OPEN_WINDOW: "HH:MM-HH:MM" from opening minus warm-up to closing, when the fleet should be up on a workday."""
    return f"{start_time(config):%H:%M}-{config.schedule.stop_time:%H:%M}"


def calendar_years(config: EnvironmentConfig) -> str:
    """CALENDAR_YEARS: the covered years, or '*' for a calendar without public holidays."""
    calendar = config.schedule.calendar
    return "*" if calendar.is_empty else ",".join(str(year) for year in sorted(calendar.years))


def scheduler_environment(config: EnvironmentConfig, asg_name: str) -> dict[str, str]:
    """The scheduler Lambda's environment, exactly as the contract with lambdas/ names it."""
    fleet, schedule = config.fleet, config.schedule
    return {
        "ASG_NAMES": asg_name,
        "TIMEZONE": config.timezone,
        "WEEKDAYS": ",".join(schedule.weekdays),
        "HOLIDAYS": ",".join(day.isoformat() for day in schedule.holidays),
        "EXTRA_WORKDAYS": ",".join(day.isoformat() for day in schedule.extra_workdays),
        "CALENDAR_YEARS": calendar_years(config),
        "OPEN_WINDOW": open_window(config),
        "BOOT_MINUTES": str(fleet.boot_minutes),
        "SIZE_TAG_KEY": SIZE_TAG_KEY,
        "DEFAULT_SIZE": f"{fleet.min_capacity}-{fleet.desired_capacity}-{fleet.max_capacity}",
        "OVERRIDE_TAG_KEY": OVERRIDE_TAG_KEY,
        "METRIC_NAMESPACE": METRIC_NAMESPACE,
        "ENV_NAME": config.name,
    }


def closing_backstop(config: EnvironmentConfig) -> dict[str, object]:
    """The closing scheduled action's settings (every day at closing, local time, 0-0-0), as the template holds them."""
    stop = config.schedule.stop_time
    return {
        "Recurrence": f"{stop.minute} {stop.hour} * * *",
        "TimeZone": config.timezone,
        "MinSize": 0,
        "MaxSize": 0,
        "DesiredCapacity": 0,
    }


def schedule_warnings(config: EnvironmentConfig, today: dt.date, *, allow_uncovered: bool) -> list[str]:
    """Warnings for the synth; raises ConfigError when the calendar does not cover `today`'s year (unless allowed)."""
    warnings = []
    schedule, boot = config.schedule, config.fleet.boot_minutes
    if schedule.warmup < boot:
        warnings.append(
            f"environment '{config.name}': schedule.warmup_minutes {schedule.warmup} is shorter than "
            f"fleet.boot_minutes {boot}: the fleet will not be ready at opening (omit warmup_minutes to use the boot "
            "time)"
        )
    calendar = schedule.calendar
    if calendar.is_empty:
        return warnings
    where = f"environment '{config.name}': schedule.calendar.years"
    library = ""
    if calendar.country in ANNOUNCED_YEARLY:
        latest = official_through(calendar.country)
        library = f"; holidays {library_version()} carries {ANNOUNCED_YEARLY[calendar.country]} through {latest}"
    if not calendar.covers(today.year):
        message = (
            f"{where}: the calendar covers {calendar.coverage()}, not the current year {today.year}: every day of "
            f"{today.year} would be decided as a plain weekday, holidays ignored{library}. Add {today.year} (docs/"
            f"lambdas.md, 'Calendars'), or synthesize with -c {ALLOW_UNCOVERED_CONTEXT}=true to deploy anyway"
        )
        if not allow_uncovered:
            raise ConfigError(message)
        return [*warnings, f"{message} (allowed by {ALLOW_UNCOVERED_CONTEXT})"]
    last = today.year
    while calendar.covers(last + 1):
        last += 1
    end = dt.date(last, 12, 31)
    left = (end - today).days
    if left < COVERAGE_WARNING_DAYS:
        warnings.append(
            f"{where}: the calendar's coverage ends {end.isoformat()}, in {left} days{library}. Add {last + 1} "
            "before then: from that day on, holidays are ignored and the CalendarUncovered alarm fires"
        )
    return warnings


def _today(scope: Construct) -> dt.date:
    pinned = scope.node.try_get_context(TODAY_CONTEXT)
    if pinned is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(str(pinned))
    except ValueError as exc:
        raise ConfigError(f"context {TODAY_CONTEXT}: '{pinned}' is not a date (YYYY-MM-DD)") from exc


def _flag(scope: Construct, key: str) -> bool:
    return str(scope.node.try_get_context(key)).lower() in ("true", "1", "yes")


class Schedule(Construct):
    """Scheduler Lambda + daily start/stop and 15-minute reconcile schedules + the closing backstop on the group."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        asg: autoscaling.IAutoScalingGroup,
        asg_name: str,
        asg_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = dead_letter_queue(self)
        self.handler = PythonFunction(
            self,
            "Handler",
            handler="lambdas.scheduler.handler.handler",
            description=f"voicefleet {config.name}: start/stop the GPU fleet on business hours",
            environment=scheduler_environment(config, asg_name),
            # A run makes a few calls per group and never waits for instances to drain (the terminating lifecycle
            # hook and the service's SIGTERM handling do that on the instances); the margin is for botocore's
            # retries riding out throttling (lambdas/common/aws.py).
            timeout=cdk.Duration.minutes(5),
            retain_logs=not config.disposable,
            # Decisions use the time they run at, so a late retry is still right; after an hour the next reconcile
            # has long done the same work.
            async_invoke=AsyncInvoke(
                retry_attempts=2, max_event_age=cdk.Duration.hours(1), on_failure=self.dead_letters
            ),
        )
        self.function = self.handler.function
        self.handler.allow_metrics()
        self._grant_group_access(asg_arn)
        self.schedules: list[scheduler.Schedule] = []
        self.closing: autoscaling.ScheduledAction | None = None
        if not config.schedule.enabled:
            return
        for warning in schedule_warnings(config, _today(self), allow_uncovered=_flag(self, ALLOW_UNCOVERED_CONTEXT)):
            cdk.Annotations.of(self).add_warning_v2("voicefleet:schedule", warning)
        stop = config.schedule.stop_time
        self.closing = autoscaling.ScheduledAction(
            self,
            "ClosingBackstop",
            auto_scaling_group=asg,
            schedule=autoscaling.Schedule.cron(minute=str(stop.minute), hour=str(stop.hour)),
            time_zone=config.timezone,
            min_capacity=0,
            max_capacity=0,
            desired_capacity=0,
        )
        tz = cdk.TimeZone.of(config.timezone)
        for action, at in (("start", start_time(config)), ("stop", stop)):
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
        """One schedule invoking the function with {"action": action}: 3 delivery retries within an hour, then the
        queue (the function's own failures go there too, through its on-failure destination)."""
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
        # Read the group's size, tags and suspended processes (paginated), and its planned opening action: neither
        # Describe call supports resource-level scoping.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeScheduledActions"],
                resources=["*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "autoscaling:UpdateAutoScalingGroup",
                    # The backstop: pause the closing action while an override keeps the fleet up; plan the opening.
                    "autoscaling:SuspendProcesses",
                    "autoscaling:ResumeProcesses",
                    "autoscaling:PutScheduledUpdateGroupAction",
                    "autoscaling:DeleteScheduledAction",
                ],
                resources=[asg_arn],
            )
        )
        # Tag writes are limited to the one key each call touches (aws:TagKeys, EC2 Auto Scaling user guide,
        # "Control access to tags"): save the running baseline, remove an expired "on-until" override.
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
