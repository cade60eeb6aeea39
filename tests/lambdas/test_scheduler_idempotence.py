"""Repeated, retried and interleaved start/stop/reconcile invocations end in the same state (moto over HTTP)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from freezegun import freeze_time

from lambdas.common.aws import CLIENT_CONFIG
from lambdas.scheduler.environment import SchedulerEnvironment
from lambdas.scheduler.handler import SchedulerClients, run
from voicefleet_config import EnvironmentConfig

from .conftest import OVERRIDE_TAG, SIZE_TAG, Fleet, client_with, scheduler_environ, throttle

NEW_YORK = ZoneInfo("America/New_York")
TUESDAY_START = dt.datetime(2026, 3, 10, 8, 45, tzinfo=NEW_YORK)
TUESDAY_STOP = dt.datetime(2026, 3, 10, 18, 0, tzinfo=NEW_YORK)
WEDNESDAY_START = dt.datetime(2026, 3, 11, 8, 45, tzinfo=NEW_YORK)
TUESDAY_NOON = dt.datetime(2026, 3, 10, 12, 0, tzinfo=NEW_YORK)
TUESDAY_EVENING = dt.datetime(2026, 3, 10, 19, 0, tzinfo=NEW_YORK)
STARTED = {"gpu-a": ("1-1-2", {SIZE_TAG: "1-1-2"}), "gpu-b": ("0-1-1", {SIZE_TAG: "0-1-1"})}
STOPPED = {"gpu-a": ("0-0-0", {SIZE_TAG: "1-1-2"}), "gpu-b": ("0-0-0", {SIZE_TAG: "2-2-2"})}


@pytest.fixture
def env(dev_config: EnvironmentConfig) -> SchedulerEnvironment:
    return SchedulerEnvironment.from_env(scheduler_environ(dev_config, "gpu-a,gpu-b"))


def _invoke(action: str, at: dt.datetime, env: SchedulerEnvironment, clients: SchedulerClients) -> list[str]:
    with freeze_time(at):
        out = run({"action": action}, env, clients)
    return [group["result"] for group in out["groups"]]


@pytest.mark.parametrize(
    ("action", "at", "first", "final"),
    [
        ("start", TUESDAY_START, ["started", "started"], STARTED),
        ("stop", TUESDAY_STOP, ["unchanged", "stopped"], STOPPED),
        ("reconcile", TUESDAY_NOON, ["started", "started"], STARTED),
        ("reconcile", TUESDAY_EVENING, ["unchanged", "stopped"], STOPPED),
    ],
)
def test_same_event_three_times(
    action: str,
    at: dt.datetime,
    first: list[str],
    final: dict[str, tuple[str, dict[str, str]]],
    fleet: Fleet,
    env: SchedulerEnvironment,
) -> None:
    fleet.group("gpu-a", "0-0-0", {SIZE_TAG: "1-1-2"})
    fleet.group("gpu-b", "0-0-0" if "started" in first else "2-2-2")
    results = [_invoke(action, at, env, fleet.scheduler_clients()) for _ in range(3)]
    assert results == [first, ["unchanged", "unchanged"], ["unchanged", "unchanged"]]
    assert fleet.state("gpu-a", "gpu-b") == final


def test_start_stop_start_carries_a_manual_scale_up_to_the_next_day(fleet: Fleet, env: SchedulerEnvironment) -> None:
    fleet.group("gpu-a", "0-0-0", {SIZE_TAG: "1-1-2"})
    fleet.group("gpu-b", "0-0-0")
    clients = fleet.scheduler_clients()
    assert _invoke("start", TUESDAY_START, env, clients) == ["started", "started"]
    after_first_start = fleet.state("gpu-a", "gpu-b")
    assert after_first_start == STARTED
    assert _invoke("stop", TUESDAY_STOP, env, clients) == ["stopped", "stopped"]
    assert _invoke("start", WEDNESDAY_START, env, clients) == ["started", "started"]
    assert fleet.size("gpu-a") == "1-1-2"
    assert fleet.size("gpu-b") == "0-1-1"
    # A person raises gpu-a's bounds during Wednesday; the stop saves them and Thursday's start restores them.
    fleet.autoscaling.update_auto_scaling_group(AutoScalingGroupName="gpu-a", MinSize=3, DesiredCapacity=3, MaxSize=4)
    assert _invoke("start", WEDNESDAY_START, env, clients) == ["unchanged", "unchanged"]  # a late retry: no shrink
    assert _invoke("stop", WEDNESDAY_START.replace(hour=18, minute=0), env, clients) == ["stopped", "stopped"]
    assert fleet.tags("gpu-a") == {SIZE_TAG: "3-3-4"}
    assert _invoke("start", dt.datetime(2026, 3, 12, 8, 45, tzinfo=NEW_YORK), env, clients) == ["started", "started"]
    assert fleet.size("gpu-a") == "3-3-4"


def test_yesterdays_target_tracking_peak_is_not_restored(fleet: Fleet, env: SchedulerEnvironment) -> None:
    """Regression: a 1-4-4 group at 17:59 (target tracking's peak) was saved and brought back as four GPUs."""
    fleet.group("gpu-a", "1-4-4")
    fleet.group("gpu-b", "0-0-1")  # dev: target tracking scaled in to 0; saved as 0-0-1, it restored nothing
    clients = fleet.scheduler_clients()
    assert _invoke("stop", TUESDAY_STOP, env, clients) == ["stopped", "stopped"]
    assert fleet.state("gpu-a", "gpu-b") == {
        "gpu-a": ("0-0-0", {SIZE_TAG: "1-1-4"}),
        "gpu-b": ("0-0-0", {SIZE_TAG: "0-1-1"}),
    }
    assert _invoke("start", WEDNESDAY_START, env, clients) == ["started", "started"]
    assert (fleet.size("gpu-a"), fleet.size("gpu-b")) == ("1-1-4", "0-1-1")


def _clients_with(moto_endpoint: str, config: Config) -> SchedulerClients:
    return SchedulerClients(
        autoscaling=client_with(moto_endpoint, "autoscaling", config),
        cloudwatch=client_with(moto_endpoint, "cloudwatch", config),
    )


def test_throttling_absorbed_by_client_retries(fleet: Fleet, env: SchedulerEnvironment, moto_endpoint: str) -> None:
    """The handler's own client settings (standard retries) ride out a Throttling answer on the resize."""
    fleet.group("gpu-a", "1-2-4")
    fleet.group("gpu-b", "1-1-2")
    clients = _clients_with(moto_endpoint, CLIENT_CONFIG)
    hook = throttle(clients.autoscaling, "UpdateAutoScalingGroup", times=1)
    assert _invoke("stop", TUESDAY_STOP, env, clients) == ["stopped", "stopped"]
    assert hook.seen == 1
    assert fleet.state("gpu-a", "gpu-b") == {
        "gpu-a": ("0-0-0", {SIZE_TAG: "1-1-4"}),
        "gpu-b": ("0-0-0", {SIZE_TAG: "1-1-2"}),
    }


@pytest.mark.parametrize("action", ["stop", "reconcile"])
@pytest.mark.parametrize("operation", ["CreateOrUpdateTags", "UpdateAutoScalingGroup", "DeleteTags"])
def test_invocation_retried_after_throttling_reaches_the_clean_run_state(
    operation: str, action: str, fleet: Fleet, env: SchedulerEnvironment, moto_endpoint: str
) -> None:
    """Throttling that escapes the client fails the invocation midway; Scheduler's retry finishes the same way a
    clean run would have, whichever call was refused (gpu-a already done, gpu-b half done)."""
    expired = {OVERRIDE_TAG: "on-until=2026-03-10T17:00"}
    fleet.group("gpu-a", "1-2-4", expired)
    fleet.group("gpu-b", "1-1-2", expired)
    clients = _clients_with(moto_endpoint, Config(retries={"mode": "standard", "total_max_attempts": 1}))
    # Let gpu-a's call through, refuse gpu-b's: the first invocation dies with one group changed.
    hook = throttle(clients.autoscaling, operation, times=1, after=1)
    with pytest.raises(ClientError, match="Throttling"):
        _invoke(action, TUESDAY_STOP, env, clients)
    assert fleet.size("gpu-a") == "0-0-0"
    assert fleet.size("gpu-b") == "1-1-2"
    assert hook.seen == 1
    retried = _invoke(action, TUESDAY_STOP, env, clients)
    assert retried == ["unchanged", "stopped"]
    assert fleet.state("gpu-a", "gpu-b") == {
        "gpu-a": ("0-0-0", {SIZE_TAG: "1-1-4"}),
        "gpu-b": ("0-0-0", {SIZE_TAG: "1-1-2"}),
    }
