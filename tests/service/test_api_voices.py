"""Voices CRUD over HTTP, and saved voices used by both speech APIs; models and health endpoints."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from service.audio.analysis import median_pitch_hz
from tests.service.conftest import CLIP_TEXT, LiveServer, flac_bomb, speech_clip


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

    speech = client.post(
        "/v1/audio/speech", json={"input": "你好", "voice": "anna-zh", "response_format": "wav", "stream": False}
    )
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


@pytest.mark.parametrize("field", ["audio", "prompt_audio"])
def test_bad_voice_audio(client: httpx.Client, field: str) -> None:
    response = client.post("/v1/voices", data={"name": "broken"}, files={field: ("a.wav", b"junk" * 100, "audio/wav")})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == field
    assert error["message"].startswith(f"{field} could not be decoded as audio")
    assert "0x" not in error["message"]  # regression: libsndfile's "<_io.BytesIO object at 0x7f08...>"
    assert client.get("/v1/voices/broken").status_code == 404


@pytest.mark.parametrize(("field", "name"), [("audio", "bomb-a"), ("prompt_audio", "bomb-b")])
def test_a_flac_bomb_is_refused_as_a_voice_and_as_a_prompt(client: httpx.Client, field: str, name: str) -> None:
    """Regression: a tiny FLAC of 8 channels at a huge rate passed the byte cap and the length check, decoded to
    hundreds of MB and was saved (201). Now refused from its header, naming the field, before it is decoded."""
    bomb = flac_bomb()
    saved = client.post("/v1/voices", data={"name": name}, files={field: ("b.flac", bomb, "audio/flac")})
    assert saved.status_code == 400, saved.text
    error = saved.json()["error"]
    assert (error["param"], error["code"]) == (field, "invalid_prompt_audio")
    assert error["message"].startswith(f"{field} has 8 channels; at most 2")
    assert client.get(f"/v1/voices/{name}").status_code == 404
    if field == "prompt_audio":
        tts = client.post("/v1/tts", data={"text": "你好"}, files={field: ("b.flac", bomb, "audio/flac")})
        assert tts.status_code == 400, tts.text
        assert tts.json()["error"]["param"] == field


def test_voice_accepts_the_field_names_of_v1_tts(client: httpx.Client, clip: bytes) -> None:
    """Regression: /v1/voices took only audio/text while /v1/tts takes prompt_audio/prompt_text."""
    created = client.post(
        "/v1/voices",
        data={"name": "tts-names", "prompt_text": CLIP_TEXT},
        files={"prompt_audio": ("a.wav", clip, "audio/wav")},
    )
    assert created.status_code == 201, created.text
    assert client.get("/v1/voices/tts-names").json()["text"] == CLIP_TEXT
    assert client.delete("/v1/voices/tts-names").status_code == 204


@pytest.mark.parametrize(
    ("data", "files", "param", "needle"),
    [
        ({}, {"audio": "a.wav", "prompt_audio": "b.wav"}, "prompt_audio", "either audio or prompt_audio, not both"),
        ({}, {}, "audio", "audio is required"),
        ({}, {"prompt_audio": ""}, "audio", "audio is required"),  # an empty file part, as browsers send
        ({"text": "x", "prompt_text": "y"}, {"audio": "a.wav"}, "prompt_text", "either text or prompt_text"),
    ],
)
def test_voice_audio_under_both_names_or_neither_is_422(
    client: httpx.Client, clip: bytes, data: dict[str, str], files: dict[str, str], param: str, needle: str
) -> None:
    parts = {field: (name, clip if name else b"", "audio/wav") for field, name in files.items()}
    parts.setdefault("unused", ("u", b"", "application/octet-stream"))  # keep the body multipart
    response = client.post("/v1/voices", data={"name": "twice", **data}, files=parts)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["param"] == param
    assert needle in error["message"]
    assert client.get("/v1/voices/twice").status_code == 404


def test_voice_fields_are_documented(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    ref = schema["paths"]["/v1/voices"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    form = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"name", "audio", "text", "prompt_audio", "prompt_text", "language"} <= set(form["properties"])
    assert form["required"] == ["name"]
    assert "prompt_audio" in form["properties"]["audio"]["description"]


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
