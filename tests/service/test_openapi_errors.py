"""Regression (found by `tts-bench fuzz`, schemathesis): the OpenAPI schema must document the statuses, content types
and error body the service really answers — it listed only 200/422, with FastAPI's {"detail": ...} 422 shape and
audio/mpeg + audio/wav, while the service answers 400/401/403/404/409/413/415/429/503/504 with {"error": {...}} and
also flac, opus and pcm."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from service.api.errors import ErrorResponse
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
        ("post", "/v1/audio/speech", {"json": {"input": "长" * 201}}, 413),
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
