"""The service's limits declared once: cdk.json validation, the TTS_* variables infra writes, Settings and admission."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.admission import AdmissionSettings
from service.settings import Settings
from voicefleet_config import ServiceConfig, ServiceLimits, limits_of, parse_environment
from voicefleet_config.loader import ConfigError


def test_the_variables_are_generated_from_the_fields_in_a_fixed_order() -> None:
    env = ServiceConfig(engine="espeak", fp16=False, request_timeout_s=12.5).to_env()
    assert list(env) == [
        "TTS_ENGINE",
        "TTS_FP16",
        "TTS_GPU_ID",
        "TTS_MAX_TEXT_CHARS",
        "TTS_MAX_BATCH",
        "TTS_MAX_WAIT_MS",
        "TTS_MAX_QUEUE",
        "TTS_MAX_CONCURRENCY",
        "TTS_REQUEST_TIMEOUT_S",
        "TTS_RECYCLE_AFTER_REQUESTS",
        "TTS_STREAM_TIMEOUT_S",
        "TTS_KEYS_REFRESH_S",
    ]
    assert (env["TTS_ENGINE"], env["TTS_FP16"], env["TTS_REQUEST_TIMEOUT_S"]) == ("espeak", "false", "12.5")
    assert "TTS_MODEL_PREFIX" not in env  # the boot script's, not the process's


def test_a_new_limit_reaches_the_instance_without_a_hand_kept_list() -> None:
    class WithNewLimit(ServiceConfig):
        max_streams: int = 3

    assert WithNewLimit().to_env()["TTS_MAX_STREAMS"] == "3"


def test_every_variable_is_a_setting_the_service_reads_with_the_same_value(monkeypatch: pytest.MonkeyPatch) -> None:
    config = ServiceConfig(engine="espeak", max_text_chars=321, max_queue=7, recycle_after_requests=50)
    for key, value in config.to_env().items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert limits_of(settings) == limits_of(config)
    assert (settings.engine, settings.fp16, settings.gpu_id) == (config.engine, config.fp16, config.gpu_id)


@pytest.mark.parametrize(
    ("name", "bad"),
    [("max_text_chars", 5001), ("max_text_chars", 0), ("max_batch", 65), ("max_queue", 0), ("request_timeout_s", 0)],
)
def test_one_set_of_bounds_everywhere(name: str, bad: float) -> None:
    """cdk.json, Settings and admission refuse the same values (they all are ServiceLimits)."""
    with pytest.raises(ConfigError, match=f"service.{name}"):
        parse_environment("prod", {"service": {name: bad}})
    values: dict[str, object] = {name: bad}
    with pytest.raises(ValidationError, match=name):
        Settings.model_validate(values)
    with pytest.raises(ValidationError, match=name):
        AdmissionSettings.model_validate(values)
    assert issubclass(Settings, ServiceLimits)
    assert issubclass(AdmissionSettings, ServiceLimits)
    assert issubclass(ServiceConfig, ServiceLimits)


def test_admission_takes_the_limits_of_whatever_carries_them() -> None:
    config = ServiceConfig(max_queue=9, max_concurrency=3, max_batch=2, max_wait_ms=5, request_timeout_s=30)
    admission = AdmissionSettings.from_limits(config, retry_after_s=2.0)
    assert limits_of(admission) == limits_of(config)
    assert admission.retry_after_s == 2.0
    with pytest.raises(ValidationError, match="retry_afer_s"):
        AdmissionSettings.from_limits(config, retry_afer_s=2.0)  # a typo is refused, not ignored
