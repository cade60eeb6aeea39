"""Settings from TTS_* variables (names from ServiceConfig.to_env()), and unsafe combinations refused at startup."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from service.settings import MIN_KEY_CHARS, Settings, key_problem
from service.tenants.keyring import Keyring, Tenant
from voicefleet_config import ServiceConfig


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
    monkeypatch.setenv("TTS_API_KEYS", "k-1a2b3c-0123456789, k-4d5e6f-0123456789")
    monkeypatch.setenv("TTS_ENVIRONMENT", "prod")
    settings = Settings()
    assert settings.engine == "cosyvoice3"
    assert settings.fp16
    assert settings.resolved_device == "cuda:1"
    assert (settings.max_text_chars, settings.max_batch, settings.max_queue) == (150, 4, 9)
    tenants = {tenant for _, tenant in Keyring.parse(settings.api_keys).entries}
    assert (len(Keyring.parse(settings.api_keys).entries), tenants) == (2, {Tenant("default")})
    assert settings.model_dir == tmp_path


def test_max_text_len_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_TEXT_LEN", "120")
    assert Settings().max_text_chars == 120


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"engine": "cosyvoice3"}, "TTS_MODEL_DIR"),
        ({"engine": "cosyvoice3", "model_dir": "/m", "fp16": True, "device": "cpu"}, "fp16 needs a GPU"),
        ({"environment": "prod"}, "environment 'prod' requires TTS_API_KEYS"),
        ({"environment": "prod", "api_keys": ["short-key"]}, "at least 16 characters"),
        ({"engine": "loadmodel"}, "TTS_ALLOW_LOADMODEL=true"),
        ({"fault_oom_every": 3, "environment": "prod", "api_keys": ["k-0123456789abcdef"]}, "tests and drills"),
        ({"store_default": True}, "needs TTS_OUTPUTS_BUCKET"),
        ({"outputs_prefix": "/audio"}, "must be relative and end with '/'"),
        ({"voices_prefix": "../voices/"}, "must be relative"),
        ({"spot_poll_s": 0}, "spot_poll_s"),
        ({"max_gpu_reserved_fraction": 1.5}, "max_gpu_reserved_fraction"),
        ({"environment": "prod", "api_keys": ["changeme"]}, "example value"),
        ({"api_keys": ["abc123"], "admin_key": "abc123"}, "must differ"),
        ({"environment": "prod", "api_keys_file": "/k.json", "api_keys_secret": "keys"}, "not both"),
        ({"admin_key_file": "/a", "admin_key_secret": "admin"}, "not both"),
        ({"environment": "prod", "api_keys": '{"acme": '}, "not valid JSON"),
        ({"environment": "prod", "api_keys": '{"acme": "k-0123456789abcdef"}', "keys_refresh_s": 0}, "keys_refresh_s"),
        ({"device": "gpu0"}, "not 'cpu' or 'cuda:<index>'"),
        ({"max_text_chars": 0}, "max_text_chars"),
        ({"engine": "piper"}, "engine"),
    ],
)
def test_unsafe_combinations_are_refused(kwargs: dict[str, object], needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        Settings(**kwargs)  # type: ignore[arg-type]


def test_part_two_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = {
        "TTS_OUTPUTS_BUCKET": "outputs",
        "TTS_OUTPUTS_PREFIX": "audio/",
        "TTS_CDN_DOMAIN": "d111111abcdef8.cloudfront.net",
        "TTS_STORE_DEFAULT": "true",
        "TTS_SPOOL_DIR": str(tmp_path),
        "TTS_VOICES_BUCKET": "outputs",
        "TTS_IMDS_ENDPOINT": "http://127.0.0.1:9",
        "TTS_SPOT_POLL_S": "0.5",
        "TTS_RECYCLE_AFTER_REQUESTS": "1000",
        "TTS_MAX_RSS_BYTES": "8000000000",
        "TTS_DRAIN_TIMEOUT_S": "40",
        "TTS_FLUSH_TIMEOUT_S": "50",
        "TTS_ALLOW_LOADMODEL": "true",
        "TTS_ENGINE": "loadmodel",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert (settings.outputs_bucket, settings.store_default, settings.spool_dir) == ("outputs", True, tmp_path)
    assert (settings.voices_bucket, settings.voices_prefix) == ("outputs", "voices/")
    assert (settings.imds_endpoint, settings.spot_poll_s) == ("http://127.0.0.1:9", 0.5)
    assert (settings.recycle_after_requests, settings.max_rss_bytes) == (1000, 8_000_000_000)
    assert (settings.resolved_drain_timeout_s, settings.flush_timeout_s) == (40, 50)
    assert (settings.engine, settings.allow_loadmodel, settings.loadmodel_preset) == ("loadmodel", True, "full")
    monkeypatch.delenv("TTS_DRAIN_TIMEOUT_S")
    assert Settings(request_timeout_s=12).resolved_drain_timeout_s == 12  # drain defaults to the request deadline


CLIENT_KEY = "k-client-0123456789abcdef"
ADMIN_KEY = "k-admin-0123456789abcdef"


@pytest.mark.parametrize(
    ("environment", "api_keys", "admin_key", "needle"),
    [
        ("dev", [], None, None),  # an open environment may run without keys
        ("prod", [CLIENT_KEY], None, None),  # admin routes simply stay disabled
        ("prod", [CLIENT_KEY], "", None),  # an empty admin key is no admin key
        ("prod", [], ADMIN_KEY, "environment 'prod' requires TTS_API_KEYS"),
        ("prod", ["short"], ADMIN_KEY, f"at least {MIN_KEY_CHARS} characters"),
        ("prod", [CLIENT_KEY], "adminpw", f"at least {MIN_KEY_CHARS} characters"),
        ("prod", [CLIENT_KEY], "Password", "'Password' is an example value"),
        ("dev", ["changeme"], None, None),  # example keys are fine where no key is needed at all
        ("dev", [CLIENT_KEY], CLIENT_KEY, "must differ"),
    ],
)
def test_key_rules_are_part_of_the_settings_validation(
    environment: str, api_keys: list[str], admin_key: str | None, needle: str | None
) -> None:
    """Every key rule lives in Settings' validation (service/security.py only checks requests)."""
    problem = key_problem(environment, api_keys, admin_key)
    if needle is None:
        assert problem is None
        settings = Settings(environment=environment, api_keys=api_keys, admin_key=admin_key)
        assert Keyring.parse(settings.api_keys, settings.admin_key or None).enabled is bool(api_keys or admin_key)
        return
    assert problem is not None
    assert needle in problem
    with pytest.raises(ValidationError, match=needle):
        Settings(environment=environment, api_keys=api_keys, admin_key=admin_key)


def test_security_module_no_longer_imports_settings() -> None:
    """Regression: service.settings and service.security imported each other (one import hid inside a function)."""
    import ast
    import inspect

    import service.security
    import service.settings

    for module, other in ((service.security, "service.settings"), (service.settings, "service.security")):
        tree = ast.parse(inspect.getsource(module))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert other not in imported, f"{module.__name__} imports {other}"


def test_the_limits_are_the_config_model_s(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings inherits voicefleet_config's ServiceLimits: same fields, bounds and defaults as cdk.json's service."""
    from voicefleet_config import ServiceLimits

    for name, field in ServiceLimits.model_fields.items():
        assert Settings.model_fields[name].metadata == field.metadata, name
        assert getattr(Settings(), name) == field.default, name
    # Regression: the text limit was capped at 5,000 in cdk.json and 100,000 in Settings.
    monkeypatch.setenv("TTS_MAX_TEXT_CHARS", "5001")
    with pytest.raises(ValidationError, match="max_text_chars"):
        Settings()


def test_tts_max_text_chars_wins_over_the_legacy_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_TEXT_LEN", "120")
    monkeypatch.setenv("TTS_MAX_TEXT_CHARS", "150")
    assert Settings().max_text_chars == 150
    assert Settings(max_text_chars=90).max_text_chars == 90
    monkeypatch.setenv("MAX_TEXT_LEN", "0")
    monkeypatch.delenv("TTS_MAX_TEXT_CHARS")
    with pytest.raises(ValidationError, match="max_text_chars"):
        Settings()


def test_a_keys_file_or_secret_is_a_key_source_for_a_keyed_environment(tmp_path: Path) -> None:
    """Read at run time (re-read every keys_refresh_s), so startup only checks that a source is named."""
    assert Settings(environment="prod", api_keys_secret="arn:aws:secretsmanager:us-east-1:1:secret:k").api_keys is None
    assert Settings(environment="prod", api_keys_file=tmp_path / "keys.json").api_keys_file == tmp_path / "keys.json"
    with pytest.raises(ValidationError, match="requires TTS_API_KEYS"):
        Settings(environment="prod", admin_key_secret="admin")  # an admin key alone is no client key
