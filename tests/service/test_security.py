"""API keys and the admin key enforced by the real app on a real uvicorn; health, readiness and metrics stay open;
every response carries a request id, and the access log line is JSON with it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.logging import JsonFormatter
from tests.service.conftest import LiveServer, live_server, make_settings

CLIENT_KEY = "k-client-0123456789abcdef"
SECOND_KEY = "k-second-0123456789abcdef"
ADMIN_KEY = "k-admin-0123456789abcdef"
SPEECH = {"input": "你好。", "response_format": "wav"}


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = make_settings(
        voices_dir=tmp_path_factory.mktemp("voices"),
        api_keys=[CLIENT_KEY, SECOND_KEY],
        admin_key=ADMIN_KEY,
        environment="prod",
    )
    with live_server(settings) as live:
        yield live


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "missing_api_key"),
        ({"Authorization": "Bearer wrong-key-0123456789"}, 401, "invalid_api_key"),
        ({"Authorization": "Basic " + CLIENT_KEY}, 401, "missing_api_key"),
        ({"Authorization": f"Bearer {CLIENT_KEY}"}, 200, None),
        ({"authorization": f"bearer {CLIENT_KEY}"}, 200, None),
        ({"x-api-key": SECOND_KEY}, 200, None),
        ({"x-api-key": ADMIN_KEY}, 200, None),
    ],
)
def test_client_routes_need_a_valid_key(
    keyed: LiveServer, headers: dict[str, str], status: int, code: str | None
) -> None:
    response = httpx.get(f"{keyed.url}/v1/models", headers=headers)
    assert response.status_code == status
    if code:
        error = response.json()["error"]
        assert (error["code"], error["param"], error["type"]) == (code, "Authorization", "authentication_error")
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "/v1/audio/speech", {"json": SPEECH}),
        ("POST", "/v1/tts", {"data": {"text": "你好。"}}),
        ("GET", "/v1/voices", {}),
        ("DELETE", "/v1/voices/anna", {}),
    ],
)
def test_every_synthesis_and_voice_route_is_protected(
    keyed: LiveServer, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    assert httpx.request(method, f"{keyed.url}{path}", **kwargs).status_code == 401
    if method == "POST":
        allowed = httpx.request(method, f"{keyed.url}{path}", headers={"x-api-key": CLIENT_KEY}, timeout=30, **kwargs)
        assert allowed.status_code == 200
        assert allowed.headers["content-type"] == "audio/wav"


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "missing_api_key"),
        ({"Authorization": f"Bearer {CLIENT_KEY}"}, 403, "not_admin"),
        ({"x-api-key": SECOND_KEY}, 403, "not_admin"),
        # Regression (audit): a key configured nowhere is unauthenticated (401), not a client without rights (403).
        ({"Authorization": "Bearer wrong-key-0123456789"}, 401, "invalid_api_key"),
        ({"x-api-key": "wrong-key-0123456789"}, 401, "invalid_api_key"),
    ],
)
def test_admin_routes_need_the_admin_key(keyed: LiveServer, headers: dict[str, str], status: int, code: str) -> None:
    # The admin key itself is accepted in test_memory_e2e (it recycles the process).
    response = httpx.post(f"{keyed.url}/admin/restart", headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    if code == "missing_api_key":
        assert "x-api-key" in response.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/docs", "/"])
def test_health_readiness_metrics_and_the_page_are_open(keyed: LiveServer, path: str) -> None:
    assert httpx.get(f"{keyed.url}{path}").status_code == 200


def test_request_ids_and_structured_access_logs(keyed: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="voicefleet.access")
    denied = httpx.post(f"{keyed.url}/v1/audio/speech", json=SPEECH)
    generated = denied.headers["x-request-id"]
    assert len(generated) == 32
    auth = {"x-api-key": CLIENT_KEY}
    mine = httpx.post(
        f"{keyed.url}/v1/audio/speech", json=SPEECH, headers={**auth, "X-Request-ID": "client-id-42"}, timeout=30
    )
    assert mine.status_code == 200
    assert mine.headers.get_list("x-request-id") == ["client-id-42"]  # one id, the route's and the middleware's
    hostile = httpx.post(f"{keyed.url}/v1/audio/speech", json=SPEECH, headers={**auth, "X-Request-ID": "a\tb" * 40})
    assert hostile.headers["x-request-id"] != "a\tb" * 40  # not echoed into headers and logs
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "voicefleet.access"]
    by_id: dict[str, Any] = {line.get("request_id"): line for line in lines}
    assert (by_id["client-id-42"]["route"], by_id["client-id-42"]["status"]) == ("/v1/audio/speech", 200)
    assert by_id[generated]["status"] == 401


def test_without_keys_client_routes_are_open_and_admin_is_disabled(tmp_path: Path) -> None:
    with live_server(make_settings(voices_dir=tmp_path)) as live:
        assert httpx.get(f"{live.url}/v1/models").status_code == 200
        disabled = httpx.post(f"{live.url}/admin/restart", headers={"x-api-key": "anything-at-all-long"})
        assert disabled.status_code == 403
        assert disabled.json()["error"]["code"] == "admin_disabled"
        assert disabled.json()["error"]["message"].startswith("admin routes are disabled: no admin key is configured")
