"""POST /v1/tts (multipart) on a real uvicorn: prompt uploads checked before they reach the engine."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.service.conftest import CLIP_TEXT, speech_clip


@pytest.fixture(scope="module")
def clip() -> bytes:
    return speech_clip()


def test_native_tts_with_prompt_clip(client: httpx.Client, clip: bytes) -> None:
    response = client.post(
        "/v1/tts",
        data={"text": "你好，欢迎使用。", "prompt_text": CLIP_TEXT, "format": "flac", "instruct": "慢一点"},
        files={"prompt_audio": ("me.wav", clip, "audio/wav")},
    )
    assert response.status_code == 200, response.text
    audio, rate = sf.read(io.BytesIO(response.content))
    assert rate == 22050
    assert audio.size / rate > 0.5
    assert "steered pitch and rate" in response.headers["x-engine-notes"]


@pytest.mark.parametrize(("fmt", "subtype"), [("FLAC", None), ("MP3", None), ("OGG", "VORBIS"), ("OGG", "OPUS")])
def test_prompt_containers_accepted(client: httpx.Client, fmt: str, subtype: str | None) -> None:
    data = speech_clip(fmt=fmt, rate=48000 if subtype == "OPUS" else 22050, subtype=subtype)
    response = client.post("/v1/tts", data={"text": "你好"}, files={"prompt_audio": ("p", data, "audio/mpeg")})
    assert response.status_code == 200, response.text


def test_pronunciation_tags_and_defaults(client: httpx.Client) -> None:
    response = client.post("/v1/tts", data={"text": "It takes a [M][AY0][N][UW1][T]."})
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"


def test_stream(client: httpx.Client) -> None:
    with client.stream("POST", "/v1/tts", data={"text": "一。二。三。", "stream": "true", "format": "pcm"}) as r:
        chunks = [c for c in r.iter_raw() if c]
    assert r.status_code == 200
    assert len(chunks) >= 3


def _too_short() -> bytes:
    buffer = io.BytesIO()
    t = np.arange(22050) / 22050
    sf.write(buffer, 0.3 * np.sin(2 * np.pi * 200 * t), 22050, format="WAV")
    return buffer.getvalue()


def _low_rate() -> bytes:
    buffer = io.BytesIO()
    t = np.arange(8000 * 5) / 8000
    sf.write(buffer, 0.3 * np.sin(2 * np.pi * 200 * t), 8000, format="WAV")
    return buffer.getvalue()


def _silent() -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(22050 * 5), 22050, format="WAV")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("make", "content_type", "status", "needle"),
    [
        (lambda: b"RIFF\x00\x00not really audio at all" * 10, "audio/wav", 400, "could not be decoded as audio"),
        (_too_short, "audio/wav", 400, "at least 3 s"),
        (lambda: speech_clip(repeat=10), "audio/wav", 400, "at most 30 s"),
        (_low_rate, "audio/wav", 400, "at least 16000 Hz"),
        (_silent, "audio/wav", 400, "silent"),
        (lambda: b"", "audio/wav", 400, "empty"),
        (lambda: b"hello", "text/plain", 415, "content type"),
    ],
)
def test_bad_prompt_audio_is_4xx_naming_the_field(
    client: httpx.Client, make: object, content_type: str, status: int, needle: str
) -> None:
    assert callable(make)
    response = client.post("/v1/tts", data={"text": "你好"}, files={"prompt_audio": ("p.wav", make(), content_type)})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["param"] == "prompt_audio"
    assert needle in error["message"]
    assert "0x" not in error["message"]  # regression: libsndfile's "<_io.BytesIO object at 0x7f08...>"
    assert client.post("/v1/tts", data={"text": "好"}).status_code == 200


def test_oversized_prompt_is_413(client: httpx.Client) -> None:
    big = b"\x00" * (10 * 1024 * 1024 + 100 * 1024)
    response = client.post("/v1/tts", data={"text": "你好"}, files={"prompt_audio": ("p.wav", big, "audio/wav")})
    assert response.status_code == 413
    assert response.json()["error"]["param"] == "prompt_audio"


@pytest.mark.parametrize(
    ("data", "status", "param"),
    [
        ({}, 422, "text"),
        ({"text": ""}, 422, "text"),
        ({"text": "字" * 300}, 413, "text"),
        ({"text": "hi", "format": "aiff"}, 422, "format"),
        ({"text": "hi", "speed": "5"}, 422, "speed"),
        ({"text": "hi", "voice": "ghost"}, 422, "voice"),
        ({"text": "hi", "prompt_text": "no clip"}, 422, "prompt_text"),
        ({"text": "[Xy3]"}, 422, "text"),
        ({"text": "hi", "store": "true"}, 422, "store"),  # this server has no outputs bucket
        ({"text": "hi", "store": "maybe"}, 422, "store"),
    ],
)
def test_bad_fields(client: httpx.Client, data: dict[str, str], status: int, param: str) -> None:
    response = client.post("/v1/tts", data=data, files={"unused": ("u", b"", "application/octet-stream")})
    assert response.status_code == status, response.text
    assert response.json()["error"]["param"] == param


def test_json_body_is_415(client: httpx.Client) -> None:
    response = client.post("/v1/tts", json={"text": "hi"})
    assert response.status_code == 415
    assert response.json()["error"]["param"] == "Content-Type"
