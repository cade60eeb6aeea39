"""A day outside the calendar's years is decided as a plain weekday *and* reported: ERROR log + CalendarUncovered.

Issue 15 case 2: only 2026 dates were configured, so 2027-01-01 (a statutory holiday) would start the fleet with
INFO logs only. The run cannot know 2027's official days off, but it must not pass silently for a correct calendar.
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from lambdas.scheduler.environment import SchedulerEnvironment
from lambdas.scheduler.handler import run
from voicefleet_config import EnvironmentConfig

from .conftest import Fleet, scheduler_environ

SHANGHAI = ZoneInfo("Asia/Shanghai")
GROUP = "voicefleet-prod-gpu"


@pytest.mark.parametrize(
    ("local", "reason", "result"),
    [
        (dt.datetime(2027, 1, 1, 8, 35, tzinfo=SHANGHAI), "uncovered-weekday", "started"),
        (dt.datetime(2027, 1, 2, 8, 35, tzinfo=SHANGHAI), "uncovered-weekend", "skipped"),
    ],
)
def test_an_uncovered_day_is_a_plain_weekday_logged_and_counted(
    local: dt.datetime,
    reason: str,
    result: str,
    fleet: Fleet,
    prod_config: EnvironmentConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = SchedulerEnvironment.from_env(scheduler_environ(prod_config, GROUP))
    fleet.group(GROUP)
    with freeze_time(local):
        out = run({"action": "start"}, env, fleet.scheduler_clients())
    assert (out["calendar_covered"], out["day_reason"], out["groups"][0]["result"]) == (False, reason, result)
    assert fleet.metric_count("CalendarUncovered", {"Environment": "prod"}) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [error] = [line for line in lines if line["level"] == "ERROR"]
    assert "the calendar covers 2026 only" in error["message"]
    assert "decided as a plain weekday" in error["message"]


def test_a_covered_day_reports_nothing(fleet: Fleet, prod_config: EnvironmentConfig) -> None:
    env = SchedulerEnvironment.from_env(scheduler_environ(prod_config, GROUP))
    fleet.group(GROUP)
    with freeze_time(dt.datetime(2026, 12, 31, 8, 35, tzinfo=SHANGHAI)):
        out = run({"action": "start"}, env, fleet.scheduler_clients())
    assert out["calendar_covered"] is True
    assert fleet.metric_count("CalendarUncovered", {"Environment": "prod"}) == 0


def test_a_calendar_without_holidays_covers_every_year(fleet: Fleet, dev_config: EnvironmentConfig) -> None:
    """dev has no public holidays configured (CALENDAR_YEARS '*'): nothing can run out."""
    env = SchedulerEnvironment.from_env(scheduler_environ(dev_config, GROUP))
    assert env.calendar.years is None
    fleet.group(GROUP)
    with freeze_time(dt.datetime(2031, 1, 1, 8, 35, tzinfo=ZoneInfo("America/New_York"))):
        out = run({"action": "start"}, env, fleet.scheduler_clients())
    assert (out["calendar_covered"], out["day_reason"]) == (True, "weekday")
    assert fleet.metric_count("CalendarUncovered", {"Environment": "dev"}) == 0


@pytest.mark.parametrize(
    ("local", "result", "reason"),
    [
        ("2026-03-10 17:35", "started", "weekday"),  # closing 18:00 minus the 25-minute boot: the latest start
        ("2026-03-10 17:36", "unchanged", "too-late-to-start"),
    ],
)
def test_latest_start_is_closing_minus_the_boot_time(
    local: str, result: str, reason: str, fleet: Fleet, dev_config: EnvironmentConfig
) -> None:
    """Issue 15 case 5: a start at 17:45 launched GPUs the 18:00 stop terminated mid-boot."""
    env = SchedulerEnvironment.from_env(scheduler_environ(dev_config, GROUP))
    assert env.boot == dt.timedelta(minutes=dev_config.fleet.boot_minutes) == dt.timedelta(minutes=25)
    fleet.group(GROUP)
    with freeze_time(dt.datetime.fromisoformat(local).replace(tzinfo=env.timezone)):
        out = run({"action": "reconcile"}, env, fleet.scheduler_clients())
    assert (out["groups"][0]["result"], out["groups"][0]["reason"]) == (result, reason)
