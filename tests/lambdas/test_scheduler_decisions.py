"""The scheduler's decisions table (tests/lambdas/decision_rows.py, docs/lambdas.md), row by row, against moto over
HTTP with the clock frozen; and the table in the docs is checked to be exactly the one tested here."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from lambdas.scheduler.environment import SchedulerEnvironment
from lambdas.scheduler.handler import run
from voicefleet_config import EnvironmentConfig

from .conftest import Fleet, scheduler_environ
from .decision_rows import OVERRIDE_TAG, ROWS, SIZE_TAG, Row, render_table

NEW_YORK = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")
GROUP = "voicefleet-gpu"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "lambdas.md"


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
    assert fleet.backstop(GROUP, env.timezone) == row.backstop
    assert out["date"] == row.local[:10]
    assert group["override_removed"] == (OVERRIDE_TAG in row.tags and OVERRIDE_TAG not in row.final_tags)
    dims = {"Environment": row.env, "Action": row.action, "Result": row.result}
    assert fleet.metric_count("ScheduleRun", dims) == 1


def test_docs_table_is_the_tested_table() -> None:
    """docs/lambdas.md's decisions table is generated from ROWS; regenerate it with decision_rows.render_table()."""
    text = DOCS.read_text(encoding="utf-8")
    found = re.search(r"<!-- decisions:start -->\n(.*?)\n<!-- decisions:end -->", text, re.DOTALL)
    assert found is not None, "docs/lambdas.md lost its decisions markers"
    assert found.group(1) == render_table()


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
        "gpu-b": ("1-1-2", {OVERRIDE_TAG: "on", SIZE_TAG: "1-1-2"}),
    }
