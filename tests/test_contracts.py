"""Contracts between the parts: what infra hands to the Lambdas and the service is exactly what they read.

Each part is tested on its own; these tests fail when one side renames a variable the other still uses.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from infra.fleet.user_data import service_env
from infra.schedule import scheduler_environment
from lambdas.scheduler.environment import SchedulerEnvironment
from lambdas.scheduler.sizing import RunningSize
from lambdas.spot.environment import SpotEnvironment
from service.settings import Settings
from tests.infra.test_user_data import NAMES
from tests.synth import Synth
from voicefleet_config import load_environments

ENVS = load_environments()
# The boot agent adds what only the instance knows (model directory, keys, metadata endpoint) to the service's settings.
PREPARE_PY = Path(__file__).resolve().parents[1] / "instance" / "prepare.py"


@pytest.mark.parametrize("name", sorted(ENVS))
def test_scheduler_lambda_reads_what_infra_sets(name: str) -> None:
    config = ENVS[name]
    env = SchedulerEnvironment.from_env(scheduler_environment(config, "voicefleet-x-gpu"))
    assert env.asg_names == ("voicefleet-x-gpu",)
    assert str(env.timezone) == config.timezone
    assert env.env_name == name
    fleet = config.fleet
    assert env.default_size == RunningSize(fleet.min_capacity, fleet.desired_capacity, fleet.max_capacity)
    # Reconcile's open window: opening minus warm-up to closing, the same times the daily schedules fire at.
    schedule = config.schedule
    opening = schedule.start_time.hour * 60 + schedule.start_time.minute - schedule.warmup
    assert (env.open_window.start, env.open_window.end) == (
        dt.time(opening // 60, opening % 60),
        schedule.stop_time,
    )
    # The Lambda's calendar and the config's agree on every day of the configured holiday year.
    days = [*config.schedule.holidays, *config.schedule.extra_workdays]
    for day in days:
        assert env.calendar.verdict(day).workday is config.schedule.is_workday(day), day


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ENVS))
def test_synthesized_lambdas_get_a_complete_environment(name: str, synth: Synth) -> None:
    """Every Lambda in the template gets an environment its handler's from_env() accepts (tokens stand in)."""
    functions = [
        res["Properties"]
        for res in synth.raw[name]["Resources"].values()
        if res["Type"] == "AWS::Lambda::Function" and str(res["Properties"].get("Handler", "")).startswith("lambdas.")
    ]
    readers: dict[str, type[SchedulerEnvironment] | type[SpotEnvironment]] = {
        "lambdas.scheduler.handler.handler": SchedulerEnvironment,
        "lambdas.spot.handler.handler": SpotEnvironment,
    }
    assert sorted(f["Handler"] for f in functions) == sorted(readers)
    for function in functions:
        variables: dict[str, Any] = function["Environment"]["Variables"]
        # CloudFormation intrinsics (group name, topic ARN) resolve at deploy time: give them plausible values.
        resolved = {k: (v if isinstance(v, str) else f"resolved-{k.lower()}") for k, v in variables.items()}
        if "SNS_TOPIC_ARN" in variables and not isinstance(variables["SNS_TOPIC_ARN"], str):
            resolved["SNS_TOPIC_ARN"] = "arn:aws:sns:us-east-1:123456789012:alerts"
        readers[function["Handler"]].from_env(resolved)


def _settings_field(variable: str) -> str | None:
    """The Settings field a TTS_* variable sets, or None."""
    name = variable.removeprefix("TTS_").lower()
    return name if name in Settings.model_fields else None


@pytest.mark.parametrize("name", sorted(ENVS))
def test_every_service_variable_the_instance_gets_is_a_setting(name: str) -> None:
    env = service_env(ENVS[name], NAMES)
    at_boot = re.findall(r'"(TTS_[A-Z0-9_]+)":', PREPARE_PY.read_text(encoding="utf-8"))
    assert at_boot, "instance/prepare.py writes no TTS_ variables any more?"
    variables = [k for k in env if k.startswith("TTS_")] + at_boot
    unknown = [v for v in variables if _settings_field(v) is None]
    assert not unknown, f"variables the service does not read: {unknown}"


@pytest.mark.parametrize("name", sorted(ENVS))
def test_service_accepts_the_values_infra_writes(name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The same variables, with production-like keys and paths, give a Settings object carrying the config's values."""
    config = ENVS[name]
    monkeypatch.chdir(tmp_path)
    for key, value in service_env(config, NAMES).items():
        monkeypatch.setenv(key, value)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    monkeypatch.setenv("TTS_MODEL_DIR", str(model_dir))
    monkeypatch.setenv("TTS_API_KEYS", "k" * 32)
    monkeypatch.setenv("TTS_ADMIN_KEY", "a" * 32)
    monkeypatch.setenv("TTS_SPOOL_DIR", str(tmp_path / "spool"))
    settings = Settings()
    assert settings.engine == config.service.engine
    assert settings.max_text_chars == config.service.max_text_chars
    assert settings.max_batch == config.service.max_batch
    assert settings.max_queue == config.service.max_queue
    assert settings.fp16 is config.service.fp16
    assert settings.outputs_bucket == NAMES.outputs_bucket
    assert settings.environment == name
    # The keys are re-read from the stack's secrets (rotation without an instance refresh), at the config's interval.
    assert (settings.api_keys_secret, settings.admin_key_secret) == (NAMES.api_keys_secret, NAMES.admin_key_secret)
    assert settings.keys_refresh_s == config.service.keys_refresh_s


def test_cost_model_counts_the_scheduler_runs_infra_deploys() -> None:
    from cost.fixed_costs import SCHEDULER_RUNS_PER_DAY
    from infra.schedule import RECONCILE_MINUTES

    assert SCHEDULER_RUNS_PER_DAY == 2 + 24 * 60 // RECONCILE_MINUTES
