"""Entry point: `lambdas.scheduler.handler.handler`, invoked by EventBridge Scheduler with {"action": ACTION}.

ACTION is "start" (daily, opening minus warm-up), "stop" (daily, closing) or "reconcile" (every 15 minutes). The
schedules fire every day; this function decides whether today (in the configured timezone) is a workday.
`run()` holds the logic and takes its clients and clock as arguments; `handler()` builds real ones.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import boto3

from lambdas.common.aws import CLIENT_CONFIG
from lambdas.common.jsonlog import get_logger, log
from lambdas.common.metrics import put_count
from lambdas.scheduler.decisions import ACTIONS, Action, decide
from lambdas.scheduler.environment import SchedulerEnvironment
from lambdas.scheduler.errors import InvalidEventError, SchedulerError
from lambdas.scheduler.groups import apply_plan, read_groups

if TYPE_CHECKING:
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_cloudwatch import CloudWatchClient

LOGGER = get_logger("voicefleet.scheduler")
METRIC = "ScheduleRun"


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
        groups = read_groups(
            clients.autoscaling,
            env.asg_names,
            size_tag_key=env.size_tag_key,
            override_tag_key=env.override_tag_key,
            timezone=env.timezone,
        )
    except SchedulerError as exc:
        _record(env, clients, now, action=_raw_action(event), result="error")
        log(LOGGER, "schedule run refused", level=logging.ERROR, **base, error=str(exc), error_type=type(exc).__name__)
        raise
    # Decide for every group before changing any, so a bad tag on the second group leaves the first untouched.
    plans = [(group, decide(action, group, day, local, env.default_size, env.open_window)) for group in groups]
    outcomes: list[dict[str, Any]] = []
    for group, plan in plans:
        apply_plan(
            clients.autoscaling, group, plan, size_tag_key=env.size_tag_key, override_tag_key=env.override_tag_key
        )
        outcome: dict[str, Any] = {
            "group": group.name,
            "result": plan.result,
            "reason": plan.reason,
            "detail": plan.detail,
            "size_before": str(group.size),
            "size_after": str(plan.target or group.size),
            "saved_size": str(plan.save_size or group.saved_size or ""),
            "override_removed": plan.drop_override,
        }
        outcomes.append(outcome)
        log(LOGGER, f"{action} {group.name}: {plan.result} ({plan.reason})", **base, action=action, **outcome)
        _record(env, clients, now, action=action, result=plan.result)
    return {
        **base,
        "action": action,
        "date": day.day.isoformat(),
        "workday": day.workday,
        "day_reason": day.reason,
        "groups": outcomes,
    }


def _raw_action(event: object) -> str:
    action = event.get("action") if isinstance(event, Mapping) else None
    return action if action in ACTIONS else "invalid"


def _record(
    env: SchedulerEnvironment, clients: SchedulerClients, now: dt.datetime, *, action: str, result: str
) -> None:
    dims = {"Environment": env.env_name, "Action": action, "Result": result}
    put_count(clients.cloudwatch, namespace=env.metric_namespace, name=METRIC, dimensions=dims, when=now, logger=LOGGER)


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Lambda entry point. Clients are built per invocation: a run makes a handful of calls, no cache needed."""
    env = SchedulerEnvironment.from_env()
    clients = SchedulerClients(
        autoscaling=boto3.client("autoscaling", config=CLIENT_CONFIG),
        cloudwatch=boto3.client("cloudwatch", config=CLIENT_CONFIG),
    )
    return run(event, env, clients)
