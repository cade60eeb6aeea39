"""`handler(event, context)` itself, end to end: boto3 built inside the handler reaches moto via AWS_ENDPOINT_URL."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from lambdas.common.env import MissingEnvironmentVariableError
from lambdas.scheduler.calendar import WorkCalendar
from lambdas.scheduler.environment import SchedulerEnvironment
from lambdas.scheduler.handler import handler
from voicefleet_config import EnvironmentConfig

from .conftest import SIZE_TAG, Fleet, scheduler_environ

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, prod_config: EnvironmentConfig) -> None:
    for key, value in scheduler_environ(prod_config, "voicefleet-prod-gpu").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)


@pytest.mark.usefixtures("lambda_env")
def test_handler_start_on_make_up_saturday_then_stop(fleet: Fleet, capsys: pytest.CaptureFixture[str]) -> None:
    fleet.group("voicefleet-prod-gpu", "0-0-0", {SIZE_TAG: "2-2-4"})
    with freeze_time(dt.datetime(2026, 2, 28, 8, 45, tzinfo=SHANGHAI)):
        started = handler({"action": "start"}, None)
    with freeze_time(dt.datetime(2026, 2, 28, 18, 0, tzinfo=SHANGHAI)):
        stopped = handler({"action": "stop"}, None)
    assert (started["day_reason"], started["groups"][0]["result"]) == ("extra-workday", "started")
    assert started["groups"][0]["size_after"] == "2-2-4"
    assert stopped["groups"][0]["result"] == "stopped"
    assert fleet.state("voicefleet-prod-gpu") == {"voicefleet-prod-gpu": ("0-0-0", {SIZE_TAG: "2-2-4"})}
    for result in ("started", "stopped"):
        action = "start" if result == "started" else "stop"
        dims = {"Environment": "prod", "Action": action, "Result": result}
        assert fleet.metric_count("ScheduleRun", dims) == 1
    # One JSON object per line, one line per decision, with the fields Logs Insights filters on.
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    decisions = [line for line in lines if line.get("logger") == "voicefleet.scheduler"]
    assert [(d["action"], d["result"], d["reason"]) for d in decisions] == [
        ("start", "started", "extra-workday"),
        ("stop", "stopped", "closing"),
    ]
    assert decisions[0]["local_time"] == "2026-02-28T08:45:00+08:00"
    assert decisions[0]["timestamp"] == "2026-02-28T00:45:00.000+00:00"
    assert decisions[1]["backstop"] == "active; opening planned at 2026-03-02T08:35:00+08:00"


@pytest.mark.usefixtures("lambda_env")
def test_handler_reconcile_ends_an_on_until_override_on_time(fleet: Fleet) -> None:
    """Shanghai: a fleet kept up until 20:00 on a holiday goes down at the 20:00 reconcile, not the next day."""
    until = {"voicefleet:override": "on-until=2026-02-16T20:00", SIZE_TAG: "1-2-4"}
    fleet.group("voicefleet-prod-gpu", "1-2-4", until)
    with freeze_time(dt.datetime(2026, 2, 16, 19, 45, tzinfo=SHANGHAI)):
        kept = handler({"action": "reconcile"}, None)
    with freeze_time(dt.datetime(2026, 2, 16, 20, 0, tzinfo=SHANGHAI)):
        ended = handler({"action": "reconcile"}, None)
    assert (kept["groups"][0]["result"], kept["groups"][0]["reason"]) == ("unchanged", "already-running")
    assert (ended["groups"][0]["result"], ended["groups"][0]["reason"]) == ("stopped", "holiday")
    assert ended["groups"][0]["override_removed"] is True
    # The baseline: the bounds, with the configured opening desired size (not the 2 running at 20:00).
    assert fleet.state("voicefleet-prod-gpu") == {"voicefleet-prod-gpu": ("0-0-0", {SIZE_TAG: "1-1-4"})}
    assert fleet.metric_count("ScheduleRun", {"Environment": "prod", "Action": "reconcile", "Result": "stopped"}) == 1


@pytest.mark.usefixtures("lambda_env")
def test_handler_missing_variable_fails_before_any_call(monkeypatch: pytest.MonkeyPatch, fleet: Fleet) -> None:
    fleet.group("voicefleet-prod-gpu", "1-1-4")
    monkeypatch.delenv("DEFAULT_SIZE")
    with pytest.raises(MissingEnvironmentVariableError, match="DEFAULT_SIZE"):
        handler({"action": "stop"}, None)
    assert fleet.size("voicefleet-prod-gpu") == "1-1-4"


@pytest.mark.parametrize("env_name", ["dev", "prod"])
def test_calendar_matches_the_config_model_every_day_of_2026_and_2027(
    env_name: str, dev_config: EnvironmentConfig, prod_config: EnvironmentConfig
) -> None:
    """The Lambda restates ScheduleConfig.is_workday (it cannot import pydantic or `holidays`); they must agree on
    every day, inside the calendar's years (2026 for prod) and outside them (2027: plain weekdays in both)."""
    cfg = dev_config if env_name == "dev" else prod_config
    calendar: WorkCalendar = SchedulerEnvironment.from_env(scheduler_environ(cfg, "g")).calendar
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(365 * 2)]
    disagree = [day for day in days if calendar.verdict(day).workday != cfg.schedule.is_workday(day)]
    assert disagree == []
