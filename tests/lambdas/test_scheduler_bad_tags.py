"""Fail safe, not fail stuck: a bad override or saved size never blocks a decision (moto over HTTP, clock frozen).

Regression for issue 15 case 1: one mistyped tag made every action raise before any change, so the 18:00 stop and
every reconcile failed and the GPUs ran until morning. Now the schedule wins, the bad tag is ignored for that
decision, logged at ERROR with its value, counted as `ScheduleTagIgnored` (alarmed), and a start uses the configured
size. The saved-size tag is rewritten with the baseline at the next save, so a corrupt one heals at the stop.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
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
BAD_OVERRIDES = ["of", "onn", "on-untill=2026-03-10T21:00", "on-until=21:00", "off,on-until=2026-03-10T21:00"]
BAD_SIZES = ["1-1", "2-1-4", "", "one"]


@pytest.fixture
def env(dev_config: EnvironmentConfig) -> SchedulerEnvironment:
    return SchedulerEnvironment.from_env(scheduler_environ(dev_config, GROUP))


def _run(action: str, at: dt.time, env: SchedulerEnvironment, fleet: Fleet) -> dict[str, Any]:
    with freeze_time(dt.datetime.combine(TUESDAY, at, tzinfo=NEW_YORK)):
        out = run({"action": action}, env, fleet.scheduler_clients())
    group: dict[str, Any] = out["groups"][0]
    return group


def _errors(capsys: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("level") == "ERROR"]


@pytest.mark.parametrize("value", BAD_OVERRIDES)
@pytest.mark.parametrize(("action", "at"), [("stop", dt.time(18, 0)), ("reconcile", dt.time(19, 0))])
def test_bad_override_never_blocks_the_evening_stop(
    value: str, action: str, at: dt.time, env: SchedulerEnvironment, fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet.group(GROUP, "1-1-2", {OVERRIDE_TAG: value})
    group = _run(action, at, env, fleet)
    assert group["result"] == "stopped"
    assert fleet.state(GROUP) == {GROUP: ("0-0-0", {OVERRIDE_TAG: value, SIZE_TAG: "1-1-2"})}
    [error] = _errors(capsys)
    assert (error["tag"], error["value"], error["kind"]) == (OVERRIDE_TAG, value, "override")
    assert "the schedule decides" in error["message"]
    assert fleet.metric_count("ScheduleTagIgnored", {"Environment": "dev"}) == 1


@pytest.mark.parametrize("value", BAD_OVERRIDES)
def test_bad_override_leaves_the_morning_to_the_schedule(value: str, env: SchedulerEnvironment, fleet: Fleet) -> None:
    fleet.group(GROUP, "0-0-0", {OVERRIDE_TAG: value})
    group = _run("start", dt.time(8, 35), env, fleet)
    assert (group["result"], group["reason"]) == ("started", "weekday")
    assert fleet.size(GROUP) == "0-1-1"
    [ignored] = group["tags_ignored"]
    assert ignored.startswith(f"tag {OVERRIDE_TAG}={value!r} ignored: ")


@pytest.mark.parametrize("value", BAD_SIZES)
def test_bad_saved_size_never_blocks_the_stop_and_is_replaced(
    value: str, env: SchedulerEnvironment, fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet.group(GROUP, "1-2-4", {SIZE_TAG: value})
    group = _run("stop", dt.time(18, 0), env, fleet)
    assert group["result"] == "stopped"
    assert fleet.state(GROUP) == {GROUP: ("0-0-0", {SIZE_TAG: "1-1-4"})}  # the baseline replaces the bad value
    [error] = _errors(capsys)
    assert (error["tag"], error["value"], error["kind"]) == (SIZE_TAG, value, "running-size")
    assert fleet.metric_count("ScheduleTagIgnored", {"Environment": "dev"}) == 1


@pytest.mark.parametrize("value", BAD_SIZES)
def test_start_with_a_bad_saved_size_uses_the_configured_size(
    value: str, env: SchedulerEnvironment, fleet: Fleet
) -> None:
    fleet.group(GROUP, "0-0-0", {SIZE_TAG: value})
    group = _run("start", dt.time(8, 35), env, fleet)
    assert (group["result"], group["reason"]) == ("started", "weekday")
    assert "configured size 0-1-1" in group["detail"]
    assert fleet.state(GROUP) == {GROUP: ("0-1-1", {SIZE_TAG: "0-1-1"})}
    assert fleet.metric_count("ScheduleTagIgnored", {"Environment": "dev"}) == 1


def test_bad_tags_on_one_group_do_not_hold_up_the_other(dev_config: EnvironmentConfig, fleet: Fleet) -> None:
    env = SchedulerEnvironment.from_env(scheduler_environ(dev_config, "gpu-a,gpu-b"))
    fleet.group("gpu-a", "1-1-2")
    fleet.group("gpu-b", "1-1-2", {SIZE_TAG: "one", OVERRIDE_TAG: "onn"})
    with freeze_time(dt.datetime.combine(TUESDAY, dt.time(18, 0), tzinfo=NEW_YORK)):
        out = run({"action": "stop"}, env, fleet.scheduler_clients())
    assert [g["result"] for g in out["groups"]] == ["stopped", "stopped"]
    assert (fleet.size("gpu-a"), fleet.size("gpu-b")) == ("0-0-0", "0-0-0")
    assert fleet.metric_count("ScheduleTagIgnored", {"Environment": "dev"}) == 2


@pytest.mark.parametrize(
    "key", ["voicefleet:overide", "Voicefleet:Override", "voicefleet:override ", "override", "voicefleet:runningsize"]
)
def test_a_misspelt_tag_key_is_reported_not_silently_ignored(
    key: str, env: SchedulerEnvironment, fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    """Low item: a typo in the key used to be ignored silently; the tag it was meant to be has no effect."""
    fleet.group(GROUP, "1-1-2", {key: "on"})
    group = _run("stop", dt.time(18, 0), env, fleet)
    assert group["result"] == "stopped"  # the typo'd "on" does not keep the fleet up
    [error] = _errors(capsys)
    assert (error["tag"], error["kind"]) == (key, "key")
    assert "not '" in error["message"]
    assert fleet.metric_count("ScheduleTagIgnored", {"Environment": "dev"}) == 1


def test_other_voicefleet_tags_are_not_mistaken_for_typos(
    env: SchedulerEnvironment, fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet.group(GROUP, "1-1-2", {"voicefleet:env": "dev", "Name": "gpu"})
    _run("stop", dt.time(18, 0), env, fleet)
    assert _errors(capsys) == []
    assert fleet.metric_count("ScheduleTagIgnored", {"Environment": "dev"}) == 0


@pytest.mark.parametrize("value", ["on-until=2026-03-11T01:00z", "on-until=2026-03-11t01:00Z"])
def test_lowercase_z_and_t_in_on_until_are_accepted(value: str, env: SchedulerEnvironment, fleet: Fleet) -> None:
    """Low item: RFC 3339 allows 'z' and 't'; 01:00Z on the 11th is 21:00 EDT on the 10th."""
    fleet.group(GROUP, "1-1-2", {OVERRIDE_TAG: value})
    group = _run("stop", dt.time(18, 0), env, fleet)
    assert (group["result"], group["reason"]) == ("skipped", "override-on")
    assert group["tags_ignored"] == []
