"""Voices CRUD over HTTP, and saved voices used by both speech APIs; models and health endpoints."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from service.audio.analysis import median_pitch_hz
from tests.service.conftest import CLIP_TEXT, LiveServer, speech_clip


@pytest.fixture(scope="module")
def clip() -> bytes:
    return speech_clip()


def test_voice_lifecycle(client: httpx.Client, server: LiveServer, clip: bytes) -> None:
    listed = client.get("/v1/voices").json()["voices"]
    assert any(v["name"] == "alloy" and v["kind"] == "builtin" for v in listed)
    assert not any(v["kind"] == "saved" for v in listed)

    created = client.post(
        "/v1/voices",
        data={"name": "anna-zh", "text": CLIP_TEXT, "language": "zh"},
        files={"audio": ("anna.wav", clip, "audio/wav")},
    )
    assert created.status_code == 201, created.text
    assert created.json()["kind"] == "saved"
    assert created.json()["duration_s"] > 3
    assert (server.settings.voices_dir / "anna-zh" / "prompt.flac").is_file()

    assert client.get("/v1/voices/anna-zh").json()["text"] == CLIP_TEXT
    assert any(v["name"] == "anna-zh" for v in client.get("/v1/voices").json()["voices"])

    speech = client.post("/v1/audio/speech", json={"input": "你好", "voice": "anna-zh", "response_format": "wav"})
    assert speech.status_code == 200
    assert "steered" in speech.headers["x-engine-notes"]
    native = client.post("/v1/tts", data={"text": "你好", "voice": "anna-zh"})
    assert native.status_code == 200

    duplicate = client.post("/v1/voices", data={"name": "anna-zh"}, files={"audio": ("a.wav", clip, "audio/wav")})
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["param"] == "name"

    assert client.delete("/v1/voices/anna-zh").status_code == 204
    assert client.get("/v1/voices/anna-zh").status_code == 404
    assert client.delete("/v1/voices/anna-zh").status_code == 404
    gone = client.post("/v1/audio/speech", json={"input": "你好", "voice": "anna-zh"})
    assert gone.status_code == 422
    assert gone.json()["error"]["param"] == "voice"


@pytest.mark.parametrize(
    ("name", "status"),
    [("Bad Name", 422), ("../etc", 422), ("alloy", 409), ("x" * 65, 422)],
)
def test_bad_voice_names(client: httpx.Client, clip: bytes, name: str, status: int) -> None:
    response = client.post("/v1/voices", data={"name": name}, files={"audio": ("a.wav", clip, "audio/wav")})
    assert response.status_code == status
    assert response.json()["error"]["param"] == "name"


def test_bad_voice_audio(client: httpx.Client) -> None:
    response = client.post(
        "/v1/voices", data={"name": "broken"}, files={"audio": ("a.wav", b"junk" * 100, "audio/wav")}
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "audio"
    assert client.get("/v1/voices/broken").status_code == 404


def test_builtin_voice_cannot_be_deleted(client: httpx.Client) -> None:
    assert client.delete("/v1/voices/alloy").status_code == 409


def test_builtin_voices_sound_different(client: httpx.Client) -> None:
    def pitch(voice: str) -> float:
        body = {"input": "Hello, how are you today?", "voice": voice, "response_format": "pcm"}
        pcm = client.post("/v1/audio/speech", json=body).content
        f0 = median_pitch_hz((np.frombuffer(pcm, dtype="<i2") / 32768).astype(np.float32), 22050)
        assert f0 is not None
        return f0

    assert pitch("alloy") > pitch("onyx") * 1.2  # alloy is espeak's female variant f1, onyx the male m7


def test_models_list_capabilities(client: httpx.Client) -> None:
    body = client.get("/v1/models").json()
    [model] = body["data"]
    assert body["object"] == "list"
    assert model["id"] == "espeak"
    assert model["ready"] is True
    assert model["max_text_chars"] == 200
    caps = model["capabilities"]
    assert {"zh", "yue", "en", "ja"} <= set(caps["languages"])
    assert caps["sample_rate"] == 22050
    assert caps["clone"] is False
    assert caps["phoneme_tags"] is True
    assert client.get("/v1/models/tts-1").json()["id"] == "espeak"
    assert client.get("/v1/models/nope").status_code == 404


def test_health_ready_and_docs(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/audio/speech", "/v1/tts", "/v1/voices", "/v1/models", "/healthz", "/readyz"} <= set(paths)
