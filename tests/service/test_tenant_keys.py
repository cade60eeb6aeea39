"""Where the keys come from and how they change: the key document's formats and rules, and rotation without a
restart from a file and from Secrets Manager (moto on loopback), on the real app over a real uvicorn. A failed
re-read keeps the last good keys, logs and counts the failure; before the first good read a keyed service answers
503 and is not ready."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.tenants.keyring import KeyFormatError, Keyring, Tenant
from service.tenants.sources import region_of
from tests.service.conftest import LiveServer, live_server, make_settings

OLD = "k-old-0123456789abcdef"
NEW = "k-new-0123456789abcdef"
ADMIN = "k-admin-0123456789abcdef"
REFRESH_S = 0.2


# -- the document -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (OLD, {(OLD, Tenant("default"))}),  # the stack's generated secret: one key
        (f" {OLD} , {NEW} ", {(OLD, Tenant("default")), (NEW, Tenant("default"))}),
        (json.dumps({"acme": OLD}), {(OLD, Tenant("acme"))}),
        (json.dumps({"acme": [OLD, NEW]}), {(OLD, Tenant("acme")), (NEW, Tenant("acme"))}),
        (json.dumps({"ops": {"keys": [OLD], "admin": True}}), {(OLD, Tenant("ops", admin=True))}),
    ],
)
def test_key_document_formats(text: str, expected: set[tuple[str, Tenant]]) -> None:
    keyring = Keyring.parse(text)
    assert {(key.decode(), tenant) for key, tenant in keyring.entries} == expected
    for key, tenant in expected:
        assert keyring.match(key) == tenant
    assert keyring.match(OLD[:-1]) is None
    assert keyring.match(OLD + "x") is None


@pytest.mark.parametrize(
    ("text", "admin", "needle"),
    [
        ('{"acme": ', None, "not valid JSON"),
        ('{"Acme Corp": "k-0123456789abcdef"}', None, "tenant name 'Acme Corp' is invalid"),
        ('{"admin": "k-0123456789abcdef"}', None, "reserved for the admin key"),
        ('{"acme": 42}', None, "tenant entry 'acme'"),
        ('{"acme": {"keys": ["k-0123456789abcdef"], "admn": true}}', None, "tenant entry 'acme"),
        ('{"acme": {"keys": []}}', None, "tenant entry 'acme"),
        ('{"acme": " k-0123456789abcdef"}', None, "surrounding spaces"),
        (json.dumps({"acme": OLD, "globex": OLD}), None, "a key appears twice"),
        (json.dumps({"acme": OLD}), OLD, "TTS_ADMIN_KEY must differ"),
    ],
)
def test_bad_key_documents_name_the_problem_and_never_a_key(text: str, admin: str | None, needle: str) -> None:
    with pytest.raises(KeyFormatError, match=needle) as caught:
        Keyring.parse(text, admin, api_source="secret S")
    assert OLD not in str(caught.value)


def test_key_rules_apply_to_documents_too() -> None:
    assert Keyring.parse(json.dumps({"acme": "short"})).problem("prod") is not None
    assert Keyring.parse(json.dumps({"acme": "changeme"})).problem("prod") is not None
    assert Keyring.parse(None, ADMIN).problem("prod") is not None  # an admin key alone: no client keys
    assert Keyring.parse(json.dumps({"acme": OLD}), ADMIN).problem("prod") is None
    assert Keyring.parse(json.dumps({"acme": "short"})).problem("dev") is None


def test_secret_region_comes_from_its_arn() -> None:
    assert region_of("arn:aws:secretsmanager:ap-east-1:123456789012:secret:voicefleet-keys-AbCdEf") == "ap-east-1"
    assert region_of("voicefleet-keys") is None


# -- rotation over HTTP -------------------------------------------------------------------------------------------
def _status(live: LiveServer, key: str) -> int:
    return httpx.get(f"{live.url}/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=10).status_code


def _until(check: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def _metric(live: LiveServer, name: str) -> float:
    for line in httpx.get(f"{live.url}/metrics").text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def test_rotation_from_a_file_without_restart(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"acme": OLD}))
    settings = make_settings(
        environment="prod", api_keys_file=keys, keys_refresh_s=REFRESH_S, voices_dir=tmp_path / "voices"
    )
    with live_server(settings) as live:
        assert (_status(live, OLD), _status(live, NEW)) == (200, 401)
        keys.write_text(json.dumps({"acme": [NEW, OLD]}))  # overlap: both work while clients move
        assert _until(lambda: _status(live, NEW) == 200)
        assert _status(live, OLD) == 200
        keys.write_text(json.dumps({"acme": NEW}))
        assert _until(lambda: _status(live, OLD) == 401)

        errors = _metric(live, 'voicefleet_keys_refresh_total{result="error"}')
        with caplog.at_level(logging.WARNING, logger="service.tenants.refresh"):
            keys.write_text('{"acme": ')  # a bad edit: the last good keys stay
            assert _until(lambda: _metric(live, 'voicefleet_keys_refresh_total{result="error"}') > errors)
            assert _status(live, NEW) == 200
            keys.write_text(json.dumps({"acme": "short"}))  # breaks the prod rules: refused the same way
            time.sleep(3 * REFRESH_S)
            assert _status(live, NEW) == 200
            keys.unlink()
            time.sleep(3 * REFRESH_S)
            assert _status(live, NEW) == 200
        messages = [r.getMessage() for r in caplog.records if getattr(r, "event", None) == "keys_refresh"]
        assert any("not valid JSON" in m for m in messages)
        assert any("at least 16 characters" in m for m in messages)
        assert any("FileNotFoundError" in m for m in messages)
        assert not any(NEW in m for m in messages)
        assert httpx.get(f"{live.url}/readyz").status_code == 200  # a failed re-read never takes the instance out
        assert _metric(live, "voicefleet_keys_last_success_timestamp_seconds") > 0


def test_rotation_from_secrets_manager_without_restart(
    tmp_path: Path, moto_endpoint: str, aws_client: Callable[..., Any]
) -> None:
    sm = aws_client("secretsmanager")
    api_arn = sm.create_secret(Name="voicefleet-prod-ApiKeys", SecretString=OLD)["ARN"]  # as the stack generates it
    admin_arn = sm.create_secret(Name="voicefleet-prod-AdminKey", SecretString=ADMIN)["ARN"]
    settings = make_settings(
        environment="prod",
        api_keys_secret=api_arn,
        admin_key_secret=admin_arn,
        secrets_endpoint_url=moto_endpoint,
        keys_refresh_s=REFRESH_S,
        voices_dir=tmp_path / "voices",
    )
    with live_server(settings) as live:
        assert (_status(live, OLD), _status(live, NEW)) == (200, 401)  # the old single-key format: tenant default
        restart = httpx.post(f"{live.url}/admin/restart", headers={"x-api-key": OLD})
        assert restart.json()["error"]["code"] == "not_admin"

        sm.put_secret_value(SecretId=api_arn, SecretString=json.dumps({"default": NEW, "acme": OLD + "-acme"}))
        assert _until(lambda: _status(live, NEW) == 200)
        assert (_status(live, OLD), _status(live, OLD + "-acme")) == (401, 200)

        errors = _metric(live, 'voicefleet_keys_refresh_total{result="error"}')
        sm.delete_secret(SecretId=api_arn, ForceDeleteWithoutRecovery=True)  # unreadable now
        assert _until(lambda: _metric(live, 'voicefleet_keys_refresh_total{result="error"}') > errors)
        assert _status(live, NEW) == 200  # the last good keys stay
        assert httpx.get(f"{live.url}/readyz").status_code == 200


def test_before_the_first_good_read_a_keyed_service_is_not_ready_and_answers_503(
    tmp_path: Path, moto_endpoint: str, aws_client: Callable[..., Any]
) -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:voicefleet-late"
    settings = make_settings(
        environment="prod",
        api_keys_secret="voicefleet-late",
        secrets_endpoint_url=moto_endpoint,
        keys_refresh_s=REFRESH_S,
        voices_dir=tmp_path / "voices",
    )
    assert arn.endswith("voicefleet-late")
    with live_server(settings) as live:
        ready = httpx.get(f"{live.url}/readyz")
        assert (ready.status_code, ready.json()["status"]) == (503, "no_keys")
        refused = httpx.get(f"{live.url}/v1/models", headers={"x-api-key": OLD})
        assert (refused.status_code, refused.json()["error"]["code"]) == (503, "keys_unavailable")
        assert refused.headers["retry-after"] == "5"
        aws_client("secretsmanager").create_secret(Name="voicefleet-late", SecretString=json.dumps({"acme": OLD}))
        assert _until(lambda: _status(live, OLD) == 200)
        assert httpx.get(f"{live.url}/readyz").json()["status"] == "ready"


def test_keys_in_the_environment_serve_until_the_secret_is_read(tmp_path: Path, moto_endpoint: str) -> None:
    """The boot may also write the secret's value into TTS_API_KEYS: that copy serves until the first good read."""
    settings = make_settings(
        environment="prod",
        api_keys=OLD,
        api_keys_secret="voicefleet-missing",
        secrets_endpoint_url=moto_endpoint,
        keys_refresh_s=30,
        voices_dir=tmp_path / "voices",
    )
    with live_server(settings) as live:
        assert _status(live, OLD) == 200
        assert httpx.get(f"{live.url}/readyz").json()["status"] == "ready"


def test_a_slow_first_read_does_not_hold_startup_and_lands_when_it_finishes() -> None:
    """Regression guard: the first read of a secret that hangs (a network stall) must not keep the server from
    starting; the read finishes in the background and its keys then serve."""
    import asyncio
    import threading

    from service.tenants.refresh import KeyManager

    release = threading.Event()

    class Stalled:
        description = "secret stalled"

        def read(self) -> str:
            release.wait(10)
            return json.dumps({"acme": OLD})

    async def scenario() -> None:
        manager = KeyManager(Stalled(), None, environment="prod", interval_s=3600)
        task = await manager.start(first_read_timeout_s=0.05)
        assert manager.keyring is None  # started without keys: /v1 answers 503, /readyz no_keys
        release.set()
        while manager.keyring is None:
            await asyncio.sleep(0.01)
        assert manager.keyring.match(OLD) == Tenant("acme")
        assert task is not None
        task.cancel()

    asyncio.run(asyncio.wait_for(scenario(), 20))
