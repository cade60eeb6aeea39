"""Synth-time checks of the schedule: the calendar's coverage (warn within 60 days, fail when the current year is not
covered unless flagged) and a warm-up shorter than the boot time."""

from __future__ import annotations

import datetime as dt

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match

from infra.app import build_app
from infra.schedule import schedule_warnings
from voicefleet_config import ConfigError, load_environment, parse_environment, read_context


def test_coverage_ending_within_60_days_warns() -> None:
    [warning] = schedule_warnings(load_environment("prod"), dt.date(2026, 12, 1), allow_uncovered=False)
    assert warning.startswith("environment 'prod': schedule.calendar.years: the calendar's coverage ends 2026-12-31, ")
    assert "in 30 days; holidays " in warning
    assert "through 2026. Add 2027 before then" in warning


def test_coverage_further_away_says_nothing() -> None:
    assert schedule_warnings(load_environment("prod"), dt.date(2026, 11, 1), allow_uncovered=False) == []


def test_uncovered_current_year_fails_naming_environment_and_key() -> None:
    with pytest.raises(ConfigError) as info:
        schedule_warnings(load_environment("prod"), dt.date(2027, 1, 2), allow_uncovered=False)
    message = str(info.value)
    assert message.startswith(
        "environment 'prod': schedule.calendar.years: the calendar covers 2026, not the current year 2027"
    )
    assert "synthesize with -c allow_uncovered_calendar=true to deploy anyway" in message


def test_the_flag_turns_the_failure_into_a_warning() -> None:
    [warning] = schedule_warnings(load_environment("prod"), dt.date(2027, 1, 2), allow_uncovered=True)
    assert warning.endswith("(allowed by allow_uncovered_calendar)")


def test_a_calendar_without_holidays_never_runs_out() -> None:
    assert schedule_warnings(load_environment("dev"), dt.date(2031, 6, 1), allow_uncovered=False) == []


def test_a_warm_up_shorter_than_the_boot_warns() -> None:
    config = parse_environment("x", {"schedule": {"warmup_minutes": 15}, "fleet": {"boot_minutes": 25}})
    [warning] = schedule_warnings(config, dt.date(2026, 12, 1), allow_uncovered=False)
    assert "schedule.warmup_minutes 15 is shorter than fleet.boot_minutes 25" in warning


def _prod_stack(context: dict[str, str]) -> cdk.Stack:
    app = cdk.App(context={"environments": read_context(), "env": "prod", **context})
    [stack] = build_app(app)
    return stack


@pytest.mark.slow
def test_the_warning_reaches_the_synth_output() -> None:
    stack = _prod_stack({"calendar_today": "2026-12-01"})
    Annotations.from_stack(stack).has_warning(
        "/VoiceFleet-prod/Schedule", Match.string_like_regexp("coverage ends 2026-12-31")
    )
