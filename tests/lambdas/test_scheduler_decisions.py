"""The scheduler's decisions table (docs/lambdas.md), row by row, against moto over HTTP with the clock frozen.

Dates: America/New_York (cdk.json dev) and Asia/Shanghai (cdk.json prod, with China's 2026 holidays and make-up
workdays). US clocks change on Sunday 2026-03-08 (EST -> EDT) and Sunday 2026-11-01 (EDT -> EST); Shanghai has no DST.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from lambdas.scheduler.environment import SchedulerEnvironment
from lambdas.scheduler.handler import run
from voicefleet_config import EnvironmentConfig

from .conftest import OVERRIDE_TAG, SIZE_TAG, Fleet, scheduler_environ

NEW_YORK = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")
GROUP = "voicefleet-gpu"


@dataclass(frozen=True)
class Row:
    """One row of the decisions table: inputs -> expected result, reason and final group state."""

    env: str  # "dev" (New York) or "prod" (Shanghai)
    local: str  # local wall-clock time of the invocation
    action: str
    size: str
    tags: dict[str, str]
    result: str
    reason: str
    final_size: str
    final_tags: dict[str, str]
    extra_env: dict[str, str] = field(default_factory=dict)


SAVED = {SIZE_TAG: "1-1-2"}
UNTIL_21 = "on-until=2026-03-10T21:00"  # naive: read in the environment's timezone
ROWS: dict[str, Row] = {
    # --- start, no override: the day decides -------------------------------------------------------------------
    "start weekday restores saved size": Row(
        "dev", "2026-03-10 08:45", "start", "0-0-0", SAVED, "started", "weekday", "1-1-2", SAVED
    ),
    "start weekday without tag uses DEFAULT_SIZE": Row(
        "dev", "2026-03-10 08:45", "start", "0-0-0", {}, "started", "weekday", "0-1-1", {}
    ),
    "start weekend does nothing": Row(
        "dev", "2026-03-14 08:45", "start", "0-0-0", SAVED, "skipped", "weekend", "0-0-0", SAVED
    ),
    "start US holiday (Friday) does nothing": Row(
        "dev", "2026-07-03 08:45", "start", "0-0-0", SAVED, "skipped", "holiday", "0-0-0", SAVED,
        {"HOLIDAYS": "2026-07-03,2026-12-25"},
    ),
    "start Shanghai weekday": Row(
        "prod", "2026-03-10 08:45", "start", "0-0-0", {}, "started", "weekday", "1-1-4", {}
    ),
    "start Shanghai weekend": Row(
        "prod", "2026-03-14 08:45", "start", "0-0-0", {}, "skipped", "weekend", "0-0-0", {}
    ),
    "start Shanghai Spring Festival Monday is a holiday": Row(
        "prod", "2026-02-16 08:45", "start", "0-0-0", {}, "skipped", "holiday", "0-0-0", {}
    ),
    "start Shanghai make-up Saturday 2026-02-28 is a workday": Row(
        "prod", "2026-02-28 08:45", "start", "0-0-0", {}, "started", "extra-workday", "1-1-4", {}
    ),
    "start Shanghai make-up Saturday 2026-10-10 is a workday": Row(
        "prod", "2026-10-10 08:45", "start", "0-0-0", SAVED, "started", "extra-workday", "1-1-2", SAVED
    ),
    # --- DST days (both Sundays): local date from the tz database, not a fixed offset ---------------------------
    "start 08:45 on spring-forward Sunday 2026-03-08 is a weekend": Row(
        "dev", "2026-03-08 08:45", "start", "0-0-0", SAVED, "skipped", "weekend", "0-0-0", SAVED
    ),
    "start 08:45 on spring-forward Sunday 2026-03-08 made a workday": Row(
        "dev", "2026-03-08 08:45", "start", "0-0-0", SAVED, "started", "extra-workday", "1-1-2", SAVED,
        {"EXTRA_WORKDAYS": "2026-03-08,2026-11-01"},
    ),
    "start 08:45 on fall-back Sunday 2026-11-01 made a workday": Row(
        "dev", "2026-11-01 08:45", "start", "0-0-0", SAVED, "started", "extra-workday", "1-1-2", SAVED,
        {"EXTRA_WORKDAYS": "2026-03-08,2026-11-01"},
    ),
    "start 00:30 EDT on 2026-11-01 (a fixed UTC-5 would say Saturday)": Row(
        "dev", "2026-11-01 00:30", "start", "0-0-0", SAVED, "started", "extra-workday", "1-1-2", SAVED,
        {"EXTRA_WORKDAYS": "2026-11-01"},
    ),
    # --- start never shrinks a group scaled up by hand ----------------------------------------------------------
    "start after manual scale-up keeps the bigger size": Row(
        "dev", "2026-03-10 08:45", "start", "2-3-4", SAVED, "unchanged", "already-running", "2-3-4", SAVED
    ),
    "start raises only the bounds below the saved size": Row(
        "dev", "2026-03-10 08:45", "start", "0-2-2", {SIZE_TAG: "1-1-4"}, "started", "weekday", "1-2-4",
        {SIZE_TAG: "1-1-4"},
    ),
    # --- start with an override ---------------------------------------------------------------------------------
    "start override off keeps the fleet down on a workday": Row(
        "dev", "2026-03-10 08:45", "start", "0-0-0", {**SAVED, OVERRIDE_TAG: "off"}, "skipped", "override-off",
        "0-0-0", {**SAVED, OVERRIDE_TAG: "off"},
    ),
    "start override on brings the fleet up on a weekend": Row(
        "dev", "2026-03-14 08:45", "start", "0-0-0", {**SAVED, OVERRIDE_TAG: "on"}, "started", "override-on",
        "1-1-2", {**SAVED, OVERRIDE_TAG: "on"},
    ),
    "start override on-until (future) wins over a holiday": Row(
        "prod", "2026-02-16 08:45", "start", "0-0-0", {OVERRIDE_TAG: "on-until=2026-02-16T20:00"}, "started",
        "override-on", "1-1-4", {OVERRIDE_TAG: "on-until=2026-02-16T20:00"},
    ),
    "start override on-until expired is removed and ignored": Row(
        "dev", "2026-03-14 08:45", "start", "0-0-0", {**SAVED, OVERRIDE_TAG: "on-until=2026-03-13T20:00-05:00"},
        "skipped", "weekend", "0-0-0", SAVED,
    ),
    # --- stop -----------------------------------------------------------------------------------------------------
    "stop saves the running size then sets 0-0-0": Row(
        "dev", "2026-03-10 18:00", "stop", "1-2-4", SAVED, "stopped", "closing", "0-0-0", {SIZE_TAG: "1-2-4"}
    ),
    "stop on a weekend also stops a fleet started by hand": Row(
        "prod", "2026-03-14 18:00", "stop", "0-1-1", {}, "stopped", "closing", "0-0-0", {SIZE_TAG: "0-1-1"}
    ),
    "stop of a stopped group keeps the saved tag": Row(
        "dev", "2026-03-10 18:00", "stop", "0-0-0", SAVED, "unchanged", "already-stopped", "0-0-0", SAVED
    ),
    "stop at 18:00 on fall-back Sunday 2026-11-01": Row(
        "dev", "2026-11-01 18:00", "stop", "1-1-2", {}, "stopped", "closing", "0-0-0", SAVED
    ),
    "stop override on keeps the fleet up": Row(
        "dev", "2026-03-10 18:00", "stop", "1-1-2", {OVERRIDE_TAG: "on"}, "skipped", "override-on", "1-1-2",
        {OVERRIDE_TAG: "on"},
    ),
    "stop override on-until (future, local time) keeps the fleet up": Row(
        "dev", "2026-03-10 18:00", "stop", "1-1-2", {OVERRIDE_TAG: "on-until=2026-03-10T21:00"}, "skipped",
        "override-on", "1-1-2", {OVERRIDE_TAG: "on-until=2026-03-10T21:00"},
    ),
    "stop override on-until expired (UTC stamp) is removed, fleet stops": Row(
        "dev", "2026-03-10 18:00", "stop", "1-1-2", {OVERRIDE_TAG: "on-until=2026-03-10T21:30Z"}, "stopped",
        "closing", "0-0-0", SAVED,
    ),
    "stop override off does not block the stop": Row(
        "dev", "2026-03-10 18:00", "stop", "1-1-2", {OVERRIDE_TAG: "OFF"}, "stopped", "closing", "0-0-0",
        {**SAVED, OVERRIDE_TAG: "OFF"},
    ),
    # --- reconcile (every 15 min): override, else workday and open window [08:45, 18:00) decide --------------------
    "reconcile on-until 21:00 keeps the fleet up at 20:45": Row(
        "dev", "2026-03-10 20:45", "reconcile", "1-1-2", {OVERRIDE_TAG: UNTIL_21}, "unchanged", "already-running",
        "1-1-2", {OVERRIDE_TAG: UNTIL_21},
    ),
    "reconcile at on-until 21:00 removes the tag and stops": Row(
        "dev", "2026-03-10 21:00", "reconcile", "1-1-2", {OVERRIDE_TAG: UNTIL_21}, "stopped", "outside-hours",
        "0-0-0", SAVED,
    ),
    "reconcile expired on-until inside open hours: tag removed, fleet stays up": Row(
        "dev", "2026-03-10 12:00", "reconcile", "1-1-2", {OVERRIDE_TAG: "on-until=2026-03-10T11:00"}, "unchanged",
        "already-running", "1-1-2", {},
    ),
    "reconcile override off during open hours stops the fleet": Row(
        "dev", "2026-03-10 11:00", "reconcile", "1-2-4", {**SAVED, OVERRIDE_TAG: "off"}, "stopped", "override-off",
        "0-0-0", {SIZE_TAG: "1-2-4", OVERRIDE_TAG: "off"},
    ),
    "reconcile override on after hours starts the fleet": Row(
        "dev", "2026-03-10 19:30", "reconcile", "0-0-0", {**SAVED, OVERRIDE_TAG: "on"}, "started", "override-on",
        "1-1-2", {**SAVED, OVERRIDE_TAG: "on"},
    ),
    "reconcile override on at night on a Shanghai weekend starts the fleet": Row(
        "prod", "2026-03-14 03:00", "reconcile", "0-0-0", {OVERRIDE_TAG: "ON"}, "started", "override-on", "1-1-4",
        {OVERRIDE_TAG: "ON"},
    ),
    "reconcile 12:00 on a workday with the fleet up does nothing": Row(
        "dev", "2026-03-10 12:00", "reconcile", "1-1-2", SAVED, "unchanged", "already-running", "1-1-2", SAVED
    ),
    "reconcile in open hours does not undo a scale-in below the saved size": Row(
        "dev", "2026-03-10 12:00", "reconcile", "1-1-4", {SIZE_TAG: "1-2-4"}, "unchanged", "already-running",
        "1-1-4", {SIZE_TAG: "1-2-4"},
    ),
    "reconcile in open hours starts a fleet the morning start missed": Row(
        "dev", "2026-03-10 10:00", "reconcile", "0-0-0", SAVED, "started", "weekday", "1-1-2", SAVED
    ),
    "reconcile 08:30 is before the window (opening 09:00 minus 15 min warm-up)": Row(
        "dev", "2026-03-10 08:30", "reconcile", "0-0-0", SAVED, "unchanged", "already-stopped", "0-0-0", SAVED
    ),
    "reconcile 08:45 opens the window": Row(
        "dev", "2026-03-10 08:45", "reconcile", "0-0-0", {}, "started", "weekday", "0-1-1", {}
    ),
    "reconcile 17:45 is still inside the window": Row(
        "dev", "2026-03-10 17:45", "reconcile", "1-1-2", {}, "unchanged", "already-running", "1-1-2", {}
    ),
    "reconcile 19:00 stops a fleet the 18:00 stop missed": Row(
        "dev", "2026-03-10 19:00", "reconcile", "1-2-4", SAVED, "stopped", "outside-hours", "0-0-0",
        {SIZE_TAG: "1-2-4"},
    ),
    "reconcile stopped fleet after hours stays down": Row(
        "dev", "2026-03-10 23:15", "reconcile", "0-0-0", SAVED, "unchanged", "already-stopped", "0-0-0", SAVED
    ),
    "reconcile 10:00 on a Shanghai holiday keeps the fleet down": Row(
        "prod", "2026-02-16 10:00", "reconcile", "0-0-0", {}, "unchanged", "already-stopped", "0-0-0", {}
    ),
    "reconcile 10:00 on a Shanghai holiday stops a fleet started without an override": Row(
        "prod", "2026-02-16 10:00", "reconcile", "0-1-1", {}, "stopped", "holiday", "0-0-0", {SIZE_TAG: "0-1-1"}
    ),
    "reconcile 10:00 on a Shanghai make-up Saturday starts the fleet": Row(
        "prod", "2026-02-28 10:00", "reconcile", "0-0-0", {}, "started", "extra-workday", "1-1-4", {}
    ),
    # A fixed UTC-5 would read 07:45 (before the window) on the first EDT day; a fixed UTC-4 would read 18:45 (after
    # it) on the first EST day. The tz database gives the local wall-clock time.
    "reconcile 08:45 EDT on spring-forward Sunday 2026-03-08 made a workday": Row(
        "dev", "2026-03-08 08:45", "reconcile", "0-0-0", SAVED, "started", "extra-workday", "1-1-2", SAVED,
        {"EXTRA_WORKDAYS": "2026-03-08,2026-11-01"},
    ),
    "reconcile 17:45 EST on fall-back Sunday 2026-11-01 made a workday": Row(
        "dev", "2026-11-01 17:45", "reconcile", "1-1-2", SAVED, "unchanged", "already-running", "1-1-2", SAVED,
        {"EXTRA_WORKDAYS": "2026-03-08,2026-11-01"},
    ),
    "reconcile 18:00 EST on fall-back Sunday 2026-11-01 made a workday": Row(
        "dev", "2026-11-01 18:00", "reconcile", "1-1-2", {}, "stopped", "outside-hours", "0-0-0", SAVED,
        {"EXTRA_WORKDAYS": "2026-03-08,2026-11-01"},
    ),
}  # fmt: skip


def _environment(row: Row, configs: dict[str, EnvironmentConfig]) -> SchedulerEnvironment:
    return SchedulerEnvironment.from_env({**scheduler_environ(configs[row.env], GROUP), **row.extra_env})


@pytest.mark.parametrize("name", list(ROWS))
def test_decisions_table(
    name: str, fleet: Fleet, dev_config: EnvironmentConfig, prod_config: EnvironmentConfig
) -> None:
    row = ROWS[name]
    env = _environment(row, {"dev": dev_config, "prod": prod_config})
    fleet.group(GROUP, row.size, row.tags)
    local = dt.datetime.fromisoformat(row.local).replace(tzinfo=env.timezone)
    with freeze_time(local):
        out = run({"action": row.action}, env, fleet.scheduler_clients())
    [group] = out["groups"]
    assert (group["result"], group["reason"]) == (row.result, row.reason), group["detail"]
    assert fleet.size(GROUP) == row.final_size
    assert fleet.tags(GROUP) == row.final_tags
    assert out["date"] == row.local[:10]
    assert group["override_removed"] == (OVERRIDE_TAG in row.tags and OVERRIDE_TAG not in row.final_tags)
    dims = {"Environment": row.env, "Action": row.action, "Result": row.result}
    assert fleet.metric_count("ScheduleRun", dims) == 1


@pytest.mark.parametrize(
    ("local", "offset"),
    [("2026-03-08 08:45", "-04:00"), ("2026-11-01 08:45", "-05:00"), ("2026-03-07 08:45", "-05:00")],
)
def test_dst_days_report_the_local_offset_in_force(
    local: str, offset: str, fleet: Fleet, dev_config: EnvironmentConfig
) -> None:
    env = SchedulerEnvironment.from_env(scheduler_environ(dev_config, GROUP))
    fleet.group(GROUP)
    with freeze_time(dt.datetime.fromisoformat(local).replace(tzinfo=NEW_YORK)):
        out = run({"action": "start"}, env, fleet.scheduler_clients())
    assert out["local_time"] == f"{local.replace(' ', 'T')}:00{offset}"


def test_shanghai_date_is_local_when_utc_is_still_the_day_before(fleet: Fleet, prod_config: EnvironmentConfig) -> None:
    """00:30 Saturday 2026-02-28 in Shanghai is 16:30 Friday UTC; the make-up workday is the local Saturday."""
    env = SchedulerEnvironment.from_env(scheduler_environ(prod_config, GROUP))
    fleet.group(GROUP)
    with freeze_time(dt.datetime(2026, 2, 27, 16, 30, tzinfo=dt.UTC)):
        out = run({"action": "start"}, env, fleet.scheduler_clients())
    assert (out["date"], out["day_reason"], out["groups"][0]["result"]) == ("2026-02-28", "extra-workday", "started")
    assert fleet.size(GROUP) == "1-1-4"


def test_shanghai_workday_whose_utc_date_is_a_holiday(fleet: Fleet, prod_config: EnvironmentConfig) -> None:
    """00:30 Tuesday 2026-02-24 in Shanghai is 16:30 Monday 2026-02-23 UTC, a holiday: the local day decides."""
    env = SchedulerEnvironment.from_env(scheduler_environ(prod_config, GROUP))
    fleet.group(GROUP)
    with freeze_time(dt.datetime(2026, 2, 23, 16, 30, tzinfo=dt.UTC)):
        out = run({"action": "start"}, env, fleet.scheduler_clients())
    assert (out["groups"][0]["result"], out["groups"][0]["reason"]) == ("started", "weekday")
    assert fleet.size(GROUP) == "1-1-4"


def test_each_group_gets_its_own_decision(fleet: Fleet, dev_config: EnvironmentConfig) -> None:
    env = SchedulerEnvironment.from_env(scheduler_environ(dev_config, "gpu-a,gpu-b"))
    fleet.group("gpu-a", "1-1-2")
    fleet.group("gpu-b", "1-1-2", {OVERRIDE_TAG: "on"})
    with freeze_time(dt.datetime(2026, 3, 10, 18, 0, tzinfo=NEW_YORK)):
        out = run({"action": "stop"}, env, fleet.scheduler_clients())
    assert [(g["group"], g["result"]) for g in out["groups"]] == [("gpu-a", "stopped"), ("gpu-b", "skipped")]
    assert fleet.state("gpu-a", "gpu-b") == {
        "gpu-a": ("0-0-0", {SIZE_TAG: "1-1-2"}),
        "gpu-b": ("1-1-2", {OVERRIDE_TAG: "on"}),
    }
