"""Regressions from the service audit (request input): lone surrogates in JSON strings, oversized JSON bodies,
oversized multipart text fields, and the last-resort handler that keeps every failure JSON. Real app, real uvicorn."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.logging import JsonFormatter
from tests.service.conftest import live_server, make_settings

SURROGATE = "\ud800"


def _post_json(client: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    # json.dumps escapes the surrogate as \ud800: valid JSON text that decodes to a string UTF-8 cannot encode.
    return client.post(path, content=json.dumps(body), headers={"Content-Type": "application/json"})


def _error(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/json", response.text
    error: dict[str, Any] = response.json()["error"]
    return error


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"input": f"你好{SURROGATE}。"}, "input"),
        ({"input": f"报道[j][{SURROGATE}]予好评"}, "input"),
        ({"input": "你好。", "voice": SURROGATE}, "voice"),
        ({"input": "你好。", "model": f"tts-1{SURROGATE}"}, "model"),
        ({"input": "你好。", "language": SURROGATE}, "language"),
        ({"input": "你好。", "instructions": f"快{SURROGATE}"}, "instructions"),
    ],
)
def test_lone_surrogate_is_422_naming_the_field(client: httpx.Client, body: dict[str, Any], field: str) -> None:
    response = _post_json(client, "/v1/audio/speech", body)
    assert response.status_code == 422, response.text
    error = _error(response)
    assert (error["param"], error["code"]) == (field, "invalid_unicode")
    assert "U+D800" in error["message"]


def test_invalid_utf8_in_a_multipart_field_is_never_a_5xx(client: httpx.Client) -> None:
    # Form text that is not UTF-8 is decoded as latin-1 by Starlette, so it arrives as ordinary (odd) text.
    response = client.post("/v1/tts", files={"text": (None, b"\xed\xa0\x80"), "language": (None, b"\xed\xa0\x80")})
    assert response.status_code == 422
    assert _error(response)["param"] == "language"


def test_json_body_over_the_limit_is_413_from_content_length(client: httpx.Client) -> None:
    body = {"input": "好。", "language": "xx", "padding": "x" * 70_000}  # valid apart from its size
    response = _post_json(client, "/v1/audio/speech", body)
    assert response.status_code == 413, response.text
    error = _error(response)
    assert (error["param"], error["code"]) == ("body", "body_too_large")
    assert "TTS_MAX_JSON_BYTES" in error["message"]


def test_chunked_json_body_over_the_limit_is_413_while_streaming(client: httpx.Client) -> None:
    payload = json.dumps({"input": "好。", "language": "xx", "padding": "x" * 70_000}).encode()

    def chunks() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding chunked
        for start in range(0, len(payload), 4096):
            yield payload[start : start + 4096]

    response = client.post("/v1/audio/speech", content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text
    assert _error(response)["code"] == "body_too_large"


def test_json_limit_is_a_setting(tmp_path: Path) -> None:
    with live_server(make_settings(voices_dir=tmp_path, max_json_bytes=1024)) as live:
        small = httpx.post(f"{live.url}/v1/audio/speech", json={"input": "好。", "language": "xx"})
        big = httpx.post(f"{live.url}/v1/audio/speech", json={"input": "好。", "padding": "x" * 2000})
    assert small.status_code == 422
    assert big.status_code == 413
    assert "1024 bytes" in _error(big)["message"]


@pytest.mark.parametrize("multipart", [True, False])
def test_oversized_form_text_field_is_413_naming_it(client: httpx.Client, multipart: bool) -> None:
    big = "好" * 400_000  # 1.2 MB of UTF-8, over Starlette's 1 MiB per text field
    if multipart:
        response = client.post("/v1/tts", files={"language": (None, "zh"), "instruct": (None, big)})
    else:
        response = client.post("/v1/tts", data={"language": "zh", "instruct": big})
    assert response.status_code == 413, response.text
    error = _error(response)
    assert (error["param"], error["code"]) == ("instruct", "field_too_large")


def test_unhandled_error_is_json_500_with_the_request_id(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A voices directory that is really a file (a broken disk setup) fails deep inside the store."""
    from tests.service.conftest import speech_clip

    blocked = tmp_path / "voices"
    blocked.write_text("not a directory")
    caplog.set_level("ERROR")
    with live_server(make_settings(voices_dir=blocked)) as live:
        response = httpx.post(
            f"{live.url}/v1/voices",
            data={"name": "anna"},
            files={"audio": ("a.wav", speech_clip(repeat=1), "audio/wav")},
            headers={"X-Request-ID": "boom-1"},
            timeout=30,
        )
    assert response.status_code == 500
    error = _error(response)
    assert (error["code"], error["type"], error["param"]) == ("internal_error", "server_error", None)
    assert "boom-1" in error["message"]
    assert str(tmp_path) not in response.text
    assert "Traceback" not in response.text
    assert response.headers["x-request-id"] == "boom-1"
    logged = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.levelname == "ERROR"]
    assert any(line.get("request_id") == "boom-1" and "exception" in line for line in logged), logged
