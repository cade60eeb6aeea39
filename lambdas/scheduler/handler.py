"""Entry point: `lambdas.scheduler.handler.handler`, invoked by EventBridge Scheduler with {"action": ACTION}.

ACTION is "start" (daily, opening minus warm-up), "stop" (daily, closing) or "reconcile" (every 15 minutes). The
schedules fire every day; this function decides whether today (in the configured timezone) is a workday.
`run()` holds the logic and takes its clients and clock as arguments; `handler()` builds real ones.

Fail safe, not fail stuck: a bad tag is ignored for the decision (and reported), a missing group or a refused call
on one group does not keep the others from their decision; the invocation still fails afterwards, so Lambda retries
it and then sends it to the on-failure destination (an SQS queue with an alarm).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from lambdas.common.aws import CLIENT_CONFIG
from lambdas.common.jsonlog import get_logger, log
from lambdas.common.metrics import put_count
from lambdas.scheduler.backstop import plan_backstop
from lambdas.scheduler.calendar import DayVerdict
from lambdas.scheduler.decisions import ACTIONS, Action, GroupState, decide
from lambdas.scheduler.environment import SchedulerEnvironment
from lambdas.scheduler.errors import GroupNotFoundError, InvalidEventError
from lambdas.scheduler.groups import TagKeys, apply_backstop, apply_plan, read_groups

if TYPE_CHECKING:
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_cloudwatch import CloudWatchClient

LOGGER = get_logger("voicefleet.scheduler")
METRIC = "ScheduleRun"
TAG_METRIC = "ScheduleTagIgnored"
UNCOVERED_METRIC = "CalendarUncovered"


@dataclass(frozen=True)
class SchedulerClients:
    autoscaling: AutoScalingClient
    cloudwatch: CloudWatchClient


def parse_action(event: object) -> Action:
    """The event's action; anything but {"action": "start"|"stop"|"reconcile"} raises InvalidEventError."""
    if not isinstance(event, Mapping):
        raise InvalidEventError(f'event must be an object like {{"action": "start"}}, got {type(event).__name__}')
    action = event.get("action")
    if action not in ACTIONS:
        raise InvalidEventError(f"event field 'action' must be one of {', '.join(ACTIONS)}, got {action!r}")
    return cast(Action, action)


def run(
    event: object, env: SchedulerEnvironment, clients: SchedulerClients, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Decide and apply the action for every group; returns what was done and why, per group."""
    now = now or dt.datetime.now(tz=dt.UTC)
    local = now.astimezone(env.timezone)
    day = env.calendar.verdict(local.date())
    base: dict[str, Any] = {"environment": env.env_name, "local_time": local.isoformat(), "timezone": env.timezone.key}
    try:
        action = parse_action(event)
    except InvalidEventError as exc:
        _count(env, clients, now, METRIC, Action="invalid", Result="error")
        log(LOGGER, "schedule run refused", level=logging.ERROR, **base, error=str(exc), error_type=type(exc).__name__)
        raise
    if not day.covered:
        _report_uncovered(env, clients, now, day, base)
    keys = TagKeys(size=env.size_tag_key, override=env.override_tag_key)
    groups, missing = read_groups(clients.autoscaling, env.asg_names, keys=keys, timezone=env.timezone)
    failures: list[Exception] = []
    outcomes = []
    for group in groups:
        _report_tags(env, clients, now, group, base)
        try:
            outcomes.append(_one_group(action, group, day, local, env, clients, keys, base))
        except (ClientError, BotoCoreError) as exc:
            # Another group's decision must not wait for this one: finish them all, then fail the invocation.
            failures.append(exc)
            _count(env, clients, now, METRIC, Action=action, Result="error")
            log(LOGGER, f"{action} {group.name}: failed", level=logging.ERROR, **base, group=group.name, error=str(exc))
    if missing:
        failures.append(GroupNotFoundError(f"Auto Scaling group(s) {', '.join(missing)} not found (check ASG_NAMES)"))
        _count(env, clients, now, METRIC, Action=action, Result="error")
        log(LOGGER, "schedule run incomplete", level=logging.ERROR, **base, missing=missing)
    if failures:
        raise failures[0]
    return {
        **base,
        "action": action,
        "date": day.day.isoformat(),
        "workday": day.workday,
        "day_reason": day.reason,
        "calendar_covered": day.covered,
        "groups": outcomes,
    }


def _one_group(
    action: Action,
    group: GroupState,
    day: DayVerdict,
    local: dt.datetime,
    env: SchedulerEnvironment,
    clients: SchedulerClients,
    keys: TagKeys,
    base: dict[str, Any],
) -> dict[str, Any]:
    plan = decide(action, group, day, local, env.rules)
    backstop = plan_backstop(group, plan, local, env.calendar, env.rules)
    apply_plan(clients.autoscaling, group, plan, keys=keys)
    apply_backstop(clients.autoscaling, group, backstop)
    outcome: dict[str, Any] = {
        "group": group.name,
        "result": plan.result,
        "reason": plan.reason,
        "detail": plan.detail,
        "size_before": str(group.size),
        "size_after": str(plan.size_after(group)),
        "saved_size": str(plan.save_size or group.saved_size or ""),
        "override_removed": plan.drop_override,
        "tags_ignored": [problem.describe() for problem in group.problems],
        "backstop": backstop.why,
    }
    log(LOGGER, f"{action} {group.name}: {plan.result} ({plan.reason})", **base, action=action, **outcome)
    _count(env, clients, local, METRIC, Action=action, Result=plan.result)
    return outcome


def _report_tags(
    env: SchedulerEnvironment, clients: SchedulerClients, now: dt.datetime, group: GroupState, base: dict[str, Any]
) -> None:
    for problem in group.problems:
        fields = {"group": group.name, "tag": problem.key, "value": problem.value, "kind": problem.kind}
        log(LOGGER, f"{group.name}: {problem.describe()}", level=logging.ERROR, **base, **fields)
        _count(env, clients, now, TAG_METRIC)


def _report_uncovered(
    env: SchedulerEnvironment, clients: SchedulerClients, now: dt.datetime, day: DayVerdict, base: dict[str, Any]
) -> None:
    years = ", ".join(str(year) for year in sorted(env.calendar.years or ()))
    message = f"the calendar covers {years} only: {day.describe()}; renew schedule.calendar in cdk.json and deploy"
    log(LOGGER, message, level=logging.ERROR, **base, date=day.day.isoformat())
    _count(env, clients, now, UNCOVERED_METRIC)


def _count(
    env: SchedulerEnvironment, clients: SchedulerClients, now: dt.datetime, name: str, **dimensions: str
) -> None:
    dims = {"Environment": env.env_name, **dimensions}
    put_count(clients.cloudwatch, namespace=env.metric_namespace, name=name, dimensions=dims, when=now, logger=LOGGER)


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Lambda entry point. Clients are built per invocation: a run makes a handful of calls, no cache needed."""
    env = SchedulerEnvironment.from_env()
    clients = SchedulerClients(
        autoscaling=boto3.client("autoscaling", config=CLIENT_CONFIG),
        cloudwatch=boto3.client("cloudwatch", config=CLIENT_CONFIG),
    )
    return run(event, env, clients)
