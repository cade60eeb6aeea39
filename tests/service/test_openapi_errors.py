"""Regression (found by `tts-bench fuzz`, schemathesis): the OpenAPI schema must document the statuses, content types
and error body the service really answers — it listed only 200/422, with FastAPI's {"detail": ...} 422 shape and
audio/mpeg + audio/wav, while the service answers 400/401/403/404/409/413/415/429/503/504 with {"error": {...}} and
also flac, opus and pcm."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from service.api.errors import ErrorResponse, _field
from service.audio.encode import MEDIA_TYPES

NOT_UTF8 = b'{"input": "\xff"}'  # a body FastAPI cannot even decode: 400, not 422


@pytest.fixture(scope="module")
def schema(server: Any) -> dict[str, Any]:
    spec: dict[str, Any] = httpx.get(f"{server.url}/openapi.json").json()
    return spec


def _responses(schema: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    responses: dict[str, Any] = schema["paths"][path][method]["responses"]
    return responses


def test_every_error_status_documents_the_error_body_and_never_fastapis_default(schema: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400 and path != "/readyz":
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/ErrorResponse", (method, path, status)
            if path.startswith("/v1/"):
                assert "401" in operation["responses"], (method, path)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("post", "/v1/audio/speech", {"content": NOT_UTF8, "headers": {"content-type": "application/json"}}, 400),
        ("post", "/v1/audio/speech", {"data": {"input": "x"}}, 415),
        ("post", "/v1/audio/speech", {"json": {"input": ""}}, 422),
        ("post", "/v1/audio/speech", {"json": {"input": "长" * 201}}, 400),
        ("get", "/v1/voices/nobody", {}, 404),
        ("delete", "/v1/voices/alloy", {}, 409),
        ("get", "/v1/models/nope", {}, 404),
        ("post", "/admin/restart", {}, 403),
    ],
)
def test_real_errors_are_documented_and_match_the_schema(
    client: httpx.Client, schema: dict[str, Any], method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    response = client.request(method.upper(), path, **kwargs)
    assert response.status_code == status, response.text
    template = "/v1/voices/{name}" if path.startswith("/v1/voices/") else path
    template = "/v1/models/{model_id}" if path.startswith("/v1/models/") else template
    assert str(status) in _responses(schema, method, template)
    ErrorResponse.model_validate(response.json())


def test_every_audio_format_is_a_documented_content_type(client: httpx.Client, schema: dict[str, Any]) -> None:
    documented = set(_responses(schema, "post", "/v1/audio/speech")["200"]["content"])
    assert set(MEDIA_TYPES.values()) <= documented
    flac = client.post("/v1/audio/speech", json={"input": "你好。", "response_format": "flac"})
    assert flac.headers["content-type"] in documented
    tts = _responses(schema, "post", "/v1/tts")["200"]["content"]
    assert tts["application/json"]["schema"]["$ref"] == "#/components/schemas/StoredAudioPublic"


def test_sse_streams_are_a_documented_content_type(client: httpx.Client, schema: dict[str, Any]) -> None:
    """Regression (tts-bench fuzz, schemathesis ST105): stream_format "sse" answered text/event-stream, which the
    schema did not list."""
    documented = set(_responses(schema, "post", "/v1/audio/speech")["200"]["content"])
    sse = client.post("/v1/audio/speech", json={"input": "你好。", "stream_format": "sse"})
    assert sse.status_code == 200
    assert sse.headers["content-type"].split(";")[0] in documented


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"not json", "at line 1 column 1"),
        (b'{"input": "x",}', "at line 1 column 15"),
        (b'{\n  "input": "x"\n  "voice": "alloy"\n}', "at line 3 column 3"),
        (b'{"input": "unterminated', "at line 1 column 11"),
    ],
)
def test_malformed_json_is_400_naming_the_body(client: httpx.Client, body: bytes, where: str) -> None:
    """Regression: `-d 'not json'` answered 422 with param "0" and message "0: JSON decode error"."""
    response = client.post("/v1/audio/speech", content=body, headers=JSON)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["param"], error["code"]) == ("body", "invalid_json")
    assert error["message"].startswith("request body is not valid JSON: ")
    assert error["message"].endswith(where)


def test_body_that_is_not_utf8_is_400_naming_the_body(client: httpx.Client) -> None:
    error = client.post("/v1/audio/speech", content=NOT_UTF8, headers=JSON).json()["error"]
    assert error["param"] == "body"
    assert error["message"] == "request body is not valid JSON: not UTF-8 text (byte 0xff at 11)"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"[1, 2]", "body"),
        (b'"just a string"', "body"),
        (b"{}", "input"),
        (b'{"input": 5}', "input"),
        (b'{"input": "x", "speed": "fast"}', "speed"),
    ],
)
def test_validation_param_is_a_field_name(client: httpx.Client, body: bytes, param: str) -> None:
    response = client.post("/v1/audio/speech", content=body, headers=JSON)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["param"] == param


@pytest.mark.parametrize(
    ("loc", "field"),
    [
        (("body", 0), "body"),
        (("body",), "body"),
        (("body", "input"), "input"),
        (("body", "items", 0, "name"), "items.0.name"),
        (("body", 3, "name"), "name"),
        (("query", "limit"), "limit"),
        (("body", "body"), "body"),  # a field that happens to be called body keeps its name
        (("header", "x-api-key"), "x-api-key"),
    ],
)
def test_error_location_becomes_a_field_name(loc: tuple[str | int, ...], field: str) -> None:
    assert _field(loc) == field
