"""A whole day of schedules (start 08:35, stop 18:00, reconcile every 15 minutes) against moto, clock frozen per run.

The daily runs alone kept an `on-until=21:00` fleet up until the next day's stop; with reconcile it goes down at the
first run at or after 21:00. Runs that fire in the same minute (18:00) agree in either order.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from lambdas.scheduler.environment import SchedulerEnvironment
from lambdas.scheduler.handler import run
from voicefleet_config import EnvironmentConfig

from .conftest import OVERRIDE_TAG, SIZE_TAG, Fleet, scheduler_environ

NEW_YORK = ZoneInfo("America/New_York")
TUESDAY = dt.date(2026, 3, 10)
GROUP = "voicefleet-gpu"


START = dt.time(8, 35)  # opening 09:00 minus the 25-minute boot (cdk.json dev)
TIMES = sorted({dt.time(m // 60, m % 60) for m in range(0, 24 * 60, 15)} | {START})


def _day_of_runs(daily_first: bool) -> list[tuple[dt.time, str]]:
    """Every run of a day in firing order; `daily_first` puts start/stop before the reconcile of the same minute."""
    runs: list[tuple[dt.time, str]] = []
    for at in TIMES:
        daily = {START: "start", dt.time(18, 0): "stop"}.get(at)
        reconcile = "reconcile" if at.minute % 15 == 0 else None
        same_minute = [daily, reconcile] if daily_first else [reconcile, daily]
        runs.extend((at, action) for action in same_minute if action is not None)
    return runs


def _simulate(fleet: Fleet, env: SchedulerEnvironment, daily_first: bool, override: str | None) -> dict[dt.time, str]:
    """Size of the group after the last run of each time; `override` is tagged before the 17:15 run."""
    sizes: dict[dt.time, str] = {}
    for at, action in _day_of_runs(daily_first):
        if override is not None and at == dt.time(17, 15):  # one run at 17:15 (a reconcile)
            fleet.autoscaling.create_or_update_tags(Tags=[{**_ref(), "Value": override}])
        with freeze_time(dt.datetime.combine(TUESDAY, at, tzinfo=NEW_YORK)):
            run({"action": action}, env, fleet.scheduler_clients())
        sizes[at] = fleet.size(GROUP)
    return sizes


def _ref() -> dict[str, str | bool]:
    return {"ResourceId": GROUP, "ResourceType": "auto-scaling-group", "Key": OVERRIDE_TAG, "PropagateAtLaunch": False}


def _up_between(start: dt.time, end: dt.time) -> dict[dt.time, str]:
    return {at: ("1-1-2" if start <= at < end else "0-0-0") for at in TIMES}


@pytest.mark.parametrize("daily_first", [True, False], ids=["daily-then-reconcile", "reconcile-then-daily"])
@pytest.mark.parametrize(
    ("override", "up_until"),
    [(None, dt.time(18, 0)), ("on-until=2026-03-10T21:00", dt.time(21, 0))],
    ids=["no-override", "on-until-21:00"],
)
def test_a_tuesday_of_runs_keeps_the_fleet_up_exactly_as_asked(
    override: str | None, up_until: dt.time, daily_first: bool, fleet: Fleet, dev_config: EnvironmentConfig
) -> None:
    env = SchedulerEnvironment.from_env(scheduler_environ(dev_config, GROUP))
    fleet.group(GROUP, "0-0-0", {SIZE_TAG: "1-1-2"})
    assert _simulate(fleet, env, daily_first, override) == _up_between(START, up_until)
    assert fleet.tags(GROUP) == {SIZE_TAG: "1-1-2"}  # the expired on-until is gone, the saved size kept


def test_override_set_mid_day_takes_effect_at_the_next_reconcile(fleet: Fleet, dev_config: EnvironmentConfig) -> None:
    env = SchedulerEnvironment.from_env(scheduler_environ(dev_config, GROUP))
    fleet.group(GROUP, "1-1-2", {SIZE_TAG: "1-1-2"})
    ref = _ref()
    fleet.autoscaling.create_or_update_tags(Tags=[{**ref, "Value": "off"}])  # 13:05, during open hours
    with freeze_time(dt.datetime.combine(TUESDAY, dt.time(13, 15), tzinfo=NEW_YORK)):
        out = run({"action": "reconcile"}, env, fleet.scheduler_clients())
    assert (out["groups"][0]["result"], out["groups"][0]["reason"]) == ("stopped", "override-off")
    assert "override 'off'" in out["groups"][0]["detail"]
    fleet.autoscaling.delete_tags(Tags=[ref])  # 22:50, after hours: someone needs the fleet tonight
    fleet.autoscaling.create_or_update_tags(Tags=[{**ref, "Value": "on"}])
    with freeze_time(dt.datetime.combine(TUESDAY, dt.time(23, 0), tzinfo=NEW_YORK)):
        out = run({"action": "reconcile"}, env, fleet.scheduler_clients())
    assert (out["groups"][0]["result"], out["groups"][0]["reason"]) == ("started", "override-on")
    assert out["action"] == "reconcile"
    assert fleet.size(GROUP) == "1-1-2"
