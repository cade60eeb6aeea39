"""Bad events and environments: a named error, a metric, and no change. A missing group: the others still get their
decision, then the invocation fails (bad tags never fail it: tests/lambdas/test_scheduler_bad_tags.py)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from lambdas.common.env import (
    EnvironmentVariableError,
    MalformedEnvironmentVariableError,
    MissingEnvironmentVariableError,
)
from lambdas.scheduler.environment import SchedulerEnvironment
from lambdas.scheduler.errors import GroupNotFoundError, InvalidEventError
from lambdas.scheduler.handler import run
from voicefleet_config import EnvironmentConfig

from .conftest import OVERRIDE_TAG, SIZE_TAG, Fleet, scheduler_environ

STOP_TIME = dt.datetime(2026, 3, 10, 18, 0, tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture
def environ(dev_config: EnvironmentConfig) -> dict[str, str]:
    return scheduler_environ(dev_config, "gpu-a,gpu-b")


@pytest.mark.parametrize(
    "event",
    [{"action": "restart"}, {"action": None}, {}, {"Action": "stop"}, {"action": "Reconcile"}, "stop", None, []],
)
def test_bad_event_raises_and_changes_nothing(event: object, fleet: Fleet, environ: dict[str, str]) -> None:
    fleet.group("gpu-a", "1-1-2")
    fleet.group("gpu-b", "1-1-2")
    with freeze_time(STOP_TIME), pytest.raises(InvalidEventError, match="action"):
        run(event, SchedulerEnvironment.from_env(environ), fleet.scheduler_clients())
    assert fleet.state("gpu-a", "gpu-b") == {"gpu-a": ("1-1-2", {}), "gpu-b": ("1-1-2", {})}
    assert fleet.metric_count("ScheduleRun", {"Environment": "dev", "Action": "invalid", "Result": "error"}) == 1


@pytest.mark.parametrize("action", ["stop", "reconcile"])
def test_a_missing_group_does_not_keep_the_others_running(action: str, fleet: Fleet, environ: dict[str, str]) -> None:
    """Regression: a missing group used to fail the run before any change, so the 18:00 stop left every GPU up."""
    fleet.group("gpu-a", "1-2-3", {OVERRIDE_TAG: "on-until=2026-03-09T12:00"})  # expired: removed by the run
    with freeze_time(STOP_TIME), pytest.raises(GroupNotFoundError, match="gpu-b not found"):
        run({"action": action}, SchedulerEnvironment.from_env(environ), fleet.scheduler_clients())
    assert fleet.state("gpu-a") == {"gpu-a": ("0-0-0", {SIZE_TAG: "1-1-3"})}
    assert fleet.metric_count("ScheduleRun", {"Environment": "dev", "Action": action, "Result": "stopped"}) == 1
    assert fleet.metric_count("ScheduleRun", {"Environment": "dev", "Action": action, "Result": "error"}) == 1


REQUIRED = [
    "ASG_NAMES",
    "TIMEZONE",
    "WEEKDAYS",
    "HOLIDAYS",
    "EXTRA_WORKDAYS",
    "CALENDAR_YEARS",
    "OPEN_WINDOW",
    "BOOT_MINUTES",
    "SIZE_TAG_KEY",
    "DEFAULT_SIZE",
    "OVERRIDE_TAG_KEY",
    "METRIC_NAMESPACE",
    "ENV_NAME",
]


@pytest.mark.parametrize("name", REQUIRED)
def test_missing_variable_is_named(name: str, environ: dict[str, str]) -> None:
    del environ[name]
    with pytest.raises(MissingEnvironmentVariableError, match=f"environment variable {name}: is not set") as info:
        SchedulerEnvironment.from_env(environ)
    assert info.value.variable == name


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ASG_NAMES", "", "is empty"),
        ("ASG_NAMES", "gpu-a,,gpu-b", "has an empty item"),
        ("ASG_NAMES", "gpu-a,gpu-a", "repeats an item"),
        ("TIMEZONE", "Mars/Olympus_Mons", "not an IANA timezone"),
        ("TIMEZONE", "EST+5", "not an IANA timezone"),
        ("WEEKDAYS", "mon,funday", "unknown weekday 'funday'"),
        ("WEEKDAYS", "", "is empty"),
        ("HOLIDAYS", "2026-13-01", "'2026-13-01' is not an ISO date"),
        ("EXTRA_WORKDAYS", "2026-02-28,", "has an empty item"),
        ("OPEN_WINDOW", "", "is empty"),
        ("OPEN_WINDOW", "08:45", "'08:45' is not 'HH:MM-HH:MM'"),
        ("OPEN_WINDOW", "8:45-18:00", "is not 'HH:MM-HH:MM'"),
        ("OPEN_WINDOW", "08:45-24:00", "holds a time that does not exist"),
        ("OPEN_WINDOW", "18:00-08:45", "does not end after it starts"),
        ("OPEN_WINDOW", "09:00-09:00", "does not end after it starts"),
        ("CALENDAR_YEARS", "", "is empty"),
        ("CALENDAR_YEARS", "26", "'26' is not a year"),
        ("BOOT_MINUTES", "0", "'0' is not a whole number of minutes above 0"),
        ("BOOT_MINUTES", "twenty", "is not a whole number"),
        ("BOOT_MINUTES", "600", "600 minutes is not shorter than OPEN_WINDOW"),
        ("DEFAULT_SIZE", "1-1", "is not 'min-desired-max'"),
        ("DEFAULT_SIZE", "2-1-4", "breaks min <= desired <= max"),
        ("ENV_NAME", "  ", "is empty"),
    ],
)
def test_malformed_variable_is_named(name: str, value: str, message: str, environ: dict[str, str]) -> None:
    environ[name] = value
    with pytest.raises(MalformedEnvironmentVariableError, match=message) as info:
        SchedulerEnvironment.from_env(environ)
    assert info.value.variable == name


def test_a_holiday_outside_the_calendar_years_is_refused(environ: dict[str, str]) -> None:
    environ.update(HOLIDAYS="2026-12-25", CALENDAR_YEARS="2027")
    with pytest.raises(MalformedEnvironmentVariableError, match="2026-12-25 is in HOLIDAYS or EXTRA_WORKDAYS") as info:
        SchedulerEnvironment.from_env(environ)
    assert info.value.variable == "CALENDAR_YEARS"


def test_a_day_cannot_be_holiday_and_extra_workday(environ: dict[str, str]) -> None:
    environ.update(HOLIDAYS="2026-02-28", EXTRA_WORKDAYS="2026-02-28")
    with pytest.raises(EnvironmentVariableError, match="2026-02-28 is also in HOLIDAYS"):
        SchedulerEnvironment.from_env(environ)


def test_environment_is_frozen(environ: dict[str, str]) -> None:
    env = SchedulerEnvironment.from_env(environ)
    with pytest.raises(AttributeError):
        env.env_name = "prod"  # type: ignore[misc]
