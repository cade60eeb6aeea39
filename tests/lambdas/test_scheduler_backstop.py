"""The scheduled-action backstop and the Lambda never fight: at every minute a backstop action fires, the end state
is the same whether the action fires before the Lambda's runs, after them, or the Lambda alone decides; with the
Lambda broken, the backstop alone reaches the Lambda's size.

moto stores scheduled actions and the ScheduledActions suspension but never executes an action, so `fire_due` below
does what Auto Scaling does at that minute: each action whose time it is sets the group's min/desired/max (a one-time
action is then deleted), unless the group's ScheduledActions process is suspended. Everything else is the real
handler against moto. The closing action is the one infra/schedule.py puts in the template (closing_backstop(),
checked against the synthesized template in tests/infra/test_schedule_spot.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from freezegun import freeze_time

from infra.schedule import closing_backstop
from lambdas.scheduler.backstop import BackstopPlan
from lambdas.scheduler.decisions import GroupState, PlannedOpening
from lambdas.scheduler.environment import SchedulerEnvironment
from lambdas.scheduler.groups import apply_backstop
from lambdas.scheduler.handler import run
from lambdas.scheduler.sizing import RunningSize
from voicefleet_config import EnvironmentConfig

from .conftest import OVERRIDE_TAG, SIZE_TAG, Fleet, scheduler_environ

GROUP = "voicefleet-gpu"


def fire_due(fleet: Fleet, at: dt.datetime) -> list[str]:
    """Run the group's scheduled actions due at `at` (aware) as Auto Scaling would; returns their names."""
    group = fleet.describe(GROUP)
    if any(p["ProcessName"] == "ScheduledActions" for p in group.get("SuspendedProcesses", [])):
        return []
    fired = []
    for action in fleet.autoscaling.describe_scheduled_actions(AutoScalingGroupName=GROUP)[
        "ScheduledUpdateGroupActions"
    ]:
        if "Recurrence" in action:
            minute, hour, *_ = action["Recurrence"].split()
            local = at.astimezone(ZoneInfo(action["TimeZone"]))
            due = (local.hour, local.minute) == (int(hour), int(minute))
        else:
            due = action["StartTime"].astimezone(dt.UTC) == at.astimezone(dt.UTC)
        if not due:
            continue
        fleet.autoscaling.update_auto_scaling_group(
            AutoScalingGroupName=GROUP,
            MinSize=action["MinSize"],
            MaxSize=action["MaxSize"],
            DesiredCapacity=action["DesiredCapacity"],
        )
        if "Recurrence" not in action:
            fleet.autoscaling.delete_scheduled_action(
                AutoScalingGroupName=GROUP, ScheduledActionName=action["ScheduledActionName"]
            )
        fired.append(action["ScheduledActionName"])
    return fired


@dataclass(frozen=True)
class Case:
    env: str
    before: str  # local time of the last reconcile before the minute under test (it plans the backstop)
    at: str  # the minute under test: a backstop action is due (or would be, without the Lambda's say)
    actions: tuple[str, ...]  # the Lambda's runs at that minute
    size: str
    tags: dict[str, str] = field(default_factory=dict)
    backstop_fires: bool = True  # whether a backstop action is due at `at` at all
    extra_env: dict[str, str] = field(default_factory=dict)


CASES = {
    "closing on a workday": Case("dev", "2026-03-10 17:45", "2026-03-10 18:00", ("stop", "reconcile"), "1-2-4"),
    "closing after a peak (baseline saved before closing)": Case(
        "prod", "2026-03-10 17:45", "2026-03-10 18:00", ("stop", "reconcile"), "1-4-4"
    ),
    "closing with override on: suspended, the fleet stays up": Case(
        "dev", "2026-03-10 17:45", "2026-03-10 18:00", ("stop", "reconcile"), "1-1-2", {OVERRIDE_TAG: "on"}, False
    ),
    "closing with on-until 21:00: suspended until it ends": Case(
        "dev",
        "2026-03-10 17:45",
        "2026-03-10 18:00",
        ("stop", "reconcile"),
        "1-1-2",
        {OVERRIDE_TAG: "on-until=2026-03-10T21:00"},
        False,
    ),
    "closing with override off": Case(
        "dev", "2026-03-10 17:45", "2026-03-10 18:00", ("stop", "reconcile"), "0-0-0", {OVERRIDE_TAG: "off"}
    ),
    "closing on a make-up Saturday": Case(
        "prod", "2026-02-28 17:45", "2026-02-28 18:00", ("stop", "reconcile"), "1-1-4"
    ),
    "opening on a workday": Case("dev", "2026-03-10 08:30", "2026-03-10 08:35", ("start",), "0-0-0"),
    "opening with a raised saved minimum": Case(
        "prod", "2026-03-10 08:30", "2026-03-10 08:35", ("start",), "0-0-0", {SIZE_TAG: "2-2-4"}
    ),
    "opening on a make-up Saturday": Case("prod", "2026-02-28 08:30", "2026-02-28 08:35", ("start",), "0-0-0"),
    "opening on a holiday: none planned": Case(
        "prod", "2026-02-16 08:30", "2026-02-16 08:35", ("start",), "0-0-0", backstop_fires=False
    ),
    "opening with override off: none planned": Case(
        "dev", "2026-03-10 08:30", "2026-03-10 08:35", ("start",), "0-0-0", {OVERRIDE_TAG: "off"}, False
    ),
    "opening on a weekend with override on: suspended": Case(
        "dev", "2026-03-14 08:30", "2026-03-14 08:35", ("start",), "0-0-0", {OVERRIDE_TAG: "on"}, False
    ),
    "opening on a DST Sunday made a workday": Case(
        "dev",
        "2026-03-08 08:30",
        "2026-03-08 08:35",
        ("start",),
        "0-0-0",
        extra_env={"EXTRA_WORKDAYS": "2026-03-08"},
    ),
}

Order = Callable[[Fleet, dt.datetime, Callable[[], None]], None]


def _lambda_only(fleet: Fleet, at: dt.datetime, lambda_runs: Callable[[], None]) -> None:
    lambda_runs()


def _backstop_first(fleet: Fleet, at: dt.datetime, lambda_runs: Callable[[], None]) -> None:
    fire_due(fleet, at)
    lambda_runs()


def _lambda_first(fleet: Fleet, at: dt.datetime, lambda_runs: Callable[[], None]) -> None:
    lambda_runs()
    fire_due(fleet, at)


def _scenario(case: Case, fleet: Fleet, configs: dict[str, EnvironmentConfig], order: Order | None) -> tuple[Any, ...]:
    """Set up, reconcile at `before`, then the minute under test in `order` (None: the Lambda is broken)."""
    config = configs[case.env]
    env = SchedulerEnvironment.from_env({**scheduler_environ(config, GROUP), **case.extra_env})
    fleet.group(GROUP, case.size, case.tags)
    fleet.autoscaling.put_scheduled_update_group_action(
        AutoScalingGroupName=GROUP, ScheduledActionName="closing-backstop", **closing_backstop(config)
    )
    before = dt.datetime.fromisoformat(case.before).replace(tzinfo=env.timezone)
    at = dt.datetime.fromisoformat(case.at).replace(tzinfo=env.timezone)
    with freeze_time(before):
        run({"action": "reconcile"}, env, fleet.scheduler_clients())

    def lambda_runs() -> None:
        with freeze_time(at):
            for action in case.actions:
                run({"action": action}, env, fleet.scheduler_clients())

    if order is None:
        fired = fire_due(fleet, at)
        return fleet.size(GROUP), tuple(fired)
    order(fleet, at, lambda_runs)
    return fleet.size(GROUP), fleet.tags(GROUP), fleet.backstop(GROUP, env.timezone)


@pytest.mark.parametrize("name", list(CASES))
def test_backstop_and_lambda_reach_the_same_state_in_any_order(
    name: str, aws_client: Callable[..., Any], dev_config: EnvironmentConfig, prod_config: EnvironmentConfig
) -> None:
    configs = {"dev": dev_config, "prod": prod_config}
    ends = []
    for order in (_lambda_only, _backstop_first, _lambda_first):
        fleet = _fresh_fleet(aws_client)
        ends.append(_scenario(CASES[name], fleet, configs, order))
    assert ends[0] == ends[1] == ends[2]


@pytest.mark.parametrize("name", list(CASES))
def test_with_the_lambda_broken_the_backstop_alone_reaches_the_lambdas_size(
    name: str, aws_client: Callable[..., Any], dev_config: EnvironmentConfig, prod_config: EnvironmentConfig
) -> None:
    configs = {"dev": dev_config, "prod": prod_config}
    case = CASES[name]
    lambda_size = _scenario(case, _fresh_fleet(aws_client), configs, _lambda_only)[0]
    broken_size, fired = _scenario(case, _fresh_fleet(aws_client), configs, None)
    assert bool(fired) is case.backstop_fires
    if case.backstop_fires:
        assert broken_size == lambda_size


def _fresh_fleet(aws_client: Callable[..., Any]) -> Fleet:
    """A clean moto state for each order (the session server is shared; reset it and build new clients)."""
    import urllib.request

    endpoint = aws_client("autoscaling").meta.endpoint_url
    with urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10):
        pass
    return Fleet(
        autoscaling=aws_client("autoscaling"),
        ec2=aws_client("ec2"),
        cloudwatch=aws_client("cloudwatch"),
        sns=aws_client("sns"),
        sqs=aws_client("sqs"),
        dynamodb=aws_client("dynamodb"),
    )


def test_opening_action_run_by_auto_scaling_mid_start_is_not_an_error(
    fleet: Fleet, aws_client: Callable[..., Any], prod_config: EnvironmentConfig
) -> None:
    """Regression: the start and the one-time opening action fire in the same minute by design. When Auto Scaling ran
    the action (and deleted it) between the Lambda's read and its delete, DeleteScheduledAction answered "Scheduled
    action name not found", the run failed and ScheduleRun{Result=error} paged, with the fleet at the right size."""
    env = SchedulerEnvironment.from_env(scheduler_environ(prod_config, GROUP))
    fleet.group(GROUP, "0-0-0")
    with freeze_time(dt.datetime(2026, 3, 10, 18, 0, tzinfo=env.timezone)):  # Tuesday's stop plans Wednesday's opening
        run({"action": "stop"}, env, fleet.scheduler_clients())
    assert fleet.backstop(GROUP, env.timezone) == "opening 2026-03-11 08:35"
    auto_scaling = aws_client("autoscaling")  # Auto Scaling's own hand, not the Lambda's client

    def auto_scaling_runs_the_opening(parsed: dict[str, Any], **_: Any) -> None:
        for action in parsed.get("ScheduledUpdateGroupActions", []):
            if action["ScheduledActionName"] == "voicefleet-opening":
                auto_scaling.update_auto_scaling_group(
                    AutoScalingGroupName=GROUP,
                    MinSize=action["MinSize"],
                    MaxSize=action["MaxSize"],
                    DesiredCapacity=action["DesiredCapacity"],
                )
                auto_scaling.delete_scheduled_action(
                    AutoScalingGroupName=GROUP, ScheduledActionName="voicefleet-opening"
                )

    fleet.autoscaling.meta.events.register(
        "after-call.auto-scaling.DescribeScheduledActions", auto_scaling_runs_the_opening
    )
    with freeze_time(dt.datetime(2026, 3, 11, 8, 35, 2, tzinfo=env.timezone)):
        out = run({"action": "start"}, env, fleet.scheduler_clients())
    fleet.autoscaling.meta.events.unregister(
        "after-call.auto-scaling.DescribeScheduledActions", auto_scaling_runs_the_opening
    )

    assert out["groups"][0]["result"] == "started"
    assert fleet.size(GROUP) == "1-1-4"  # prod's restore size
    assert fleet.backstop(GROUP, env.timezone) == "-"
    assert fleet.metric_count("ScheduleRun", {"Environment": "prod", "Action": "start", "Result": "error"}) == 0
    assert fleet.metric_count("ScheduleRun", {"Environment": "prod", "Action": "start", "Result": "started"}) == 1


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ValidationError", "AutoScalingGroup name not found - null"),
        ("Throttling", "Rate exceeded"),
        ("AccessDenied", "not authorized to perform: autoscaling:DeleteScheduledAction"),
    ],
)
def test_other_errors_deleting_the_opening_action_still_raise(
    code: str, message: str, aws_client: Callable[..., Any]
) -> None:
    """Only "Scheduled action name not found" means done; anything else is a failure the run must report."""
    size = RunningSize(1, 1, 4)
    opening = PlannedOpening(dt.datetime(2026, 3, 11, 0, 35, tzinfo=dt.UTC), size)
    group = GroupState(name=GROUP, size=size, saved_size=None, override=None, planned_opening=opening)
    autoscaling = aws_client("autoscaling")
    with Stubber(autoscaling) as stub:
        stub.add_client_error("delete_scheduled_action", service_error_code=code, service_message=message)
        with pytest.raises(ClientError, match=message):
            apply_backstop(autoscaling, group, BackstopPlan(suspend=False, opening=None, why="started"))
