"""Settings from TTS_* variables (names from ServiceConfig.to_env()), and unsafe combinations refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from infra.config.model import ServiceConfig
from service.settings import Settings


def test_defaults_are_local_espeak(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert (settings.engine, settings.max_text_chars, settings.host, settings.port) == (
        "espeak",
        200,
        "127.0.0.1",
        8000,
    )
    assert settings.resolved_device == "cuda:0"


def test_reads_every_variable_the_config_model_writes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = ServiceConfig(engine="cosyvoice3", fp16=True, gpu_id=1, max_text_chars=150, max_batch=4, max_queue=9)
    for key, value in config.to_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("TTS_MODEL_DIR", str(tmp_path))
    monkeypatch.setenv("TTS_API_KEYS", "k-1a2b3c, k-4d5e6f")
    monkeypatch.setenv("TTS_ENVIRONMENT", "prod")
    settings = Settings()
    assert settings.engine == "cosyvoice3"
    assert settings.fp16
    assert settings.resolved_device == "cuda:1"
    assert (settings.max_text_chars, settings.max_batch, settings.max_queue) == (150, 4, 9)
    assert settings.api_keys == ["k-1a2b3c", "k-4d5e6f"]
    assert settings.model_dir == tmp_path


def test_max_text_len_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_TEXT_LEN", "120")
    assert Settings().max_text_chars == 120


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"engine": "cosyvoice3"}, "TTS_MODEL_DIR"),
        ({"engine": "cosyvoice3", "model_dir": "/m", "fp16": True, "device": "cpu"}, "fp16 needs a GPU"),
        ({"environment": "prod"}, "needs TTS_API_KEYS"),
        ({"environment": "prod", "api_keys": ["changeme"]}, "example value"),
        ({"api_keys": ["abc123"], "admin_key": "abc123"}, "must differ"),
        ({"device": "gpu0"}, "not 'cpu' or 'cuda:<index>'"),
        ({"max_text_chars": 0}, "max_text_chars"),
        ({"engine": "piper"}, "engine"),
    ],
)
def test_unsafe_combinations_are_refused(kwargs: dict[str, object], needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        Settings(**kwargs)  # type: ignore[arg-type]
