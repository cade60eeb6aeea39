"""The rendered boot script: valid bash, every placeholder filled, settings from the config."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.fleet.cloudwatch_agent import agent_config
from infra.fleet.user_data import BootNames, render, service_env
from instance.config import BootConfig
from voicefleet_config import load_environment

NAMES = BootNames(
    asg_name="voicefleet-prod-gpu",
    models_bucket="models-bucket",
    outputs_bucket="outputs-bucket",
    cdn_domain="d123.cloudfront.net",
    api_keys_secret="arn:aws:secretsmanager:us-east-1:123456789012:secret:keys",
    admin_key_secret="arn:aws:secretsmanager:us-east-1:123456789012:secret:admin",
    log_group="/voicefleet/prod/instances",
)


@pytest.fixture(scope="module")
def script() -> str:
    return render(load_environment("prod"), NAMES, stop_timeout_s=90)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_is_valid_bash(script: str, tmp_path: Path) -> None:
    path = tmp_path / "user_data.sh"
    path.write_text(script, encoding="utf-8")
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_every_placeholder_filled(script: str) -> None:
    assert "@@" not in script
    assert "TimeoutStopSec=90" in script


def test_service_env_follows_the_contract() -> None:
    env = service_env(load_environment("prod"), NAMES)
    assert env["TTS_MAX_BATCH"] == "8"
    assert env["TTS_FP16"] == "true"
    assert env["TTS_OUTPUTS_BUCKET"] == env["TTS_VOICES_BUCKET"] == "outputs-bucket"
    assert (env["TTS_OUTPUTS_PREFIX"], env["TTS_VOICES_PREFIX"]) == ("audio/", "voices/")
    assert env["TTS_CDN_DOMAIN"] == "d123.cloudfront.net"
    assert env["TTS_ENVIRONMENT"] == "prod"
    assert (env["TTS_API_KEYS_SECRET"], env["TTS_ADMIN_KEY_SECRET"]) == (NAMES.api_keys_secret, NAMES.admin_key_secret)
    assert env["TTS_KEYS_REFRESH_S"] == "60.0"


def test_cloudwatch_agent_config_is_json_with_gpu_metrics(script: str) -> None:
    start = script.index("<<'VF_CWAGENT'\n") + len("<<'VF_CWAGENT'\n")
    config = json.loads(script[start : script.index("\nVF_CWAGENT", start)])
    assert config == agent_config(log_group="/voicefleet/prod/instances") | {}
    gpu = config["metrics"]["metrics_collected"]["nvidia_gpu"]
    assert {"utilization_gpu", "memory_used", "memory_total"} <= set(gpu["measurement"])


def _heredoc(script: str, tag: str) -> str:
    start = script.index(f"<<'{tag}'\n") + len(f"<<'{tag}'\n")
    return script[start : script.index(f"\n{tag}", start)]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_boot_settings_follow_the_environment(env: str) -> None:
    config = load_environment(env)
    boot = BootConfig.model_validate_json(_heredoc(render(config, NAMES, stop_timeout_s=90), "VF_BOOT"))
    assert boot.boot_seconds == config.fleet.boot_minutes * 60  # the gate gives up before the hook times out
    assert boot.weights == config.image.weights
    assert boot.launch_hook == "voicefleet-launch"
    assert boot.drain_hook == "voicefleet-drain"
    assert boot.service_env == service_env(config, NAMES)
    assert boot.port == config.fleet.service_port


def test_service_unit_runs_as_its_user_with_writable_state_and_cache(script: str) -> None:
    unit = _heredoc(script, "VF_UNIT")
    assert "User=voicefleet" in unit
    assert "StateDirectory=voicefleet" in unit  # fault 4: the spool lives there ($STATE_DIRECTORY/spool)
    assert "Environment=NUMBA_CACHE_DIR=/var/cache/voicefleet/numba" in unit  # fault 5
    assert "RestartPreventExitStatus=2" in unit  # a settings error is not restarted every 5 s forever


def test_user_data_stays_well_under_the_16k_limit(script: str) -> None:
    assert len(script.encode()) < 12_000
