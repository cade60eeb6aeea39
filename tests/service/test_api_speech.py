"""POST /v1/audio/speech on a real uvicorn: every format decoded back, languages, speed, streaming, disconnects."""

from __future__ import annotations

import io
import json
import socket
import time

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.service.conftest import LiveServer

# Text per language and a plausible range of seconds of speech per character (loose: catches empty, truncated or
# runaway audio, not voice quality). Chinese/Japanese characters are syllables; English characters are letters.
SAMPLES = {
    "zh": ("今天天气很好，我们一起去公园散步吧。", (0.1, 0.6)),
    "yue": ("今日天气好好，我哋一齐去公园散步啦。", (0.1, 0.6)),
    "en": ("The weather is lovely today, let us take a walk in the park.", (0.02, 0.15)),
    "ja": ("今日はいい天気ですね。公園を散歩しましょう。", (0.05, 0.5)),
}


def _decode(response: httpx.Response) -> tuple[np.ndarray, int]:
    if response.headers["content-type"] == "audio/pcm":
        rate = int(response.headers["x-sample-rate"])
        return np.frombuffer(response.content, dtype="<i2").astype(np.float32) / 32768, rate
    if "content-length" not in response.headers or response.headers["content-type"] == "audio/aac":
        # streamed (length unknown in the header) or AAC (libsndfile has no AAC): FFmpeg reads both
        import av

        with av.open(io.BytesIO(response.content), "r") as container:
            frames = [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
            audio = np.concatenate(frames)
            scale = 32768.0 if audio.dtype == np.int16 else 1.0
            return audio.astype(np.float32) / scale, int(container.streams.audio[0].rate)
    audio, rate = sf.read(io.BytesIO(response.content), dtype="float32")
    return audio, int(rate)


# espeak makes 22.05 kHz; opus has no such rate (48 kHz instead) and pcm is 24 kHz on every engine (OpenAI's pcm).
EXPECTED_RATE = {"opus": 48000, "pcm": 24000}


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("fmt", ["wav", "mp3", "opus", "aac", "flac", "pcm"])
@pytest.mark.parametrize("language", list(SAMPLES))
def test_every_format_and_language_decodes(client: httpx.Client, fmt: str, language: str, stream: bool) -> None:
    text, (low, high) = SAMPLES[language]
    body = {"model": "tts-1", "input": text, "response_format": fmt, "language": language, "stream": stream}
    response = client.post("/v1/audio/speech", json=body)
    assert response.status_code == 200, response.text
    assert ("content-length" not in response.headers) is stream
    audio, rate = _decode(response)
    assert rate == int(response.headers["x-sample-rate"])
    assert rate == EXPECTED_RATE.get(fmt, 22050)
    duration = audio.size / rate
    assert low * len(text) <= duration <= high * len(text), duration
    assert np.sqrt(np.mean(audio**2)) > 0.01  # not silent
    # Lossy codecs may overshoot full scale slightly on decode (streams skip loudness normalization's headroom).
    assert np.max(np.abs(audio)) <= (1.02 if fmt in ("mp3", "opus", "aac") else 1.0 + 1e-3)


def test_loudness_is_normalized_without_clipping(client: httpx.Client) -> None:
    response = client.post(
        "/v1/audio/speech", json={"input": SAMPLES["en"][0], "response_format": "wav", "stream": False}
    )
    audio, _ = _decode(response)
    assert np.max(np.abs(audio)) <= 10 ** (-1 / 20) + 1e-3  # -1 dBFS ceiling


def test_sample_rate_is_resampled_only_when_asked(client: httpx.Client) -> None:
    asked = client.post(
        "/v1/audio/speech", json={"input": "你好", "response_format": "wav", "sample_rate": 16000, "stream": False}
    )
    assert sf.info(io.BytesIO(asked.content)).samplerate == 16000
    default = client.post("/v1/audio/speech", json={"input": "你好", "response_format": "wav", "stream": False})
    assert sf.info(io.BytesIO(default.content)).samplerate == 22050


def test_speed_changes_duration(client: httpx.Client) -> None:
    def duration(speed: float) -> float:
        response = client.post(
            "/v1/audio/speech",
            json={"input": SAMPLES["en"][0], "response_format": "wav", "speed": speed, "stream": False},
        )
        return float(response.headers["x-audio-duration"])

    slow, normal, fast = duration(0.5), duration(1.0), duration(2.0)
    assert slow > normal * 1.5
    assert fast < normal * 0.7


def test_out_of_range_speed_is_clamped_and_reported(client: httpx.Client) -> None:
    response = client.post(
        "/v1/audio/speech", json={"input": "hello", "response_format": "wav", "speed": 0.25, "stream": False}
    )
    assert response.status_code == 200
    assert "speed clamped" in response.headers["x-engine-notes"]


def test_instructions_map_or_are_reported(client: httpx.Client) -> None:
    honored = client.post(
        "/v1/audio/speech",
        json={"input": "你好", "response_format": "wav", "instructions": "请用广东话表达。", "stream": False},
    )
    assert "x-engine-notes" not in honored.headers
    reported = client.post(
        "/v1/audio/speech",
        json={"input": "你好", "response_format": "wav", "instructions": "用四川话说，要开心", "stream": False},
    )
    assert "cannot honor" in reported.headers["x-engine-notes"]


def test_stream_yields_several_chunks_before_the_end(client: httpx.Client) -> None:
    text = "第一句话。第二句话。第三句话。第四句话。"
    with client.stream("POST", "/v1/audio/speech", json={"input": text, "stream": True, "response_format": "wav"}) as r:
        assert r.status_code == 200
        chunks = [chunk for chunk in r.iter_raw() if chunk]
    assert len(chunks) >= 4  # header + one chunk per sentence
    body = b"".join(chunks)
    assert body[:4] == b"RIFF"
    pcm = np.frombuffer(body[44:], dtype="<i2")
    assert pcm.size / 22050 > 2.0


def test_stream_pcm(client: httpx.Client) -> None:
    with client.stream(
        "POST", "/v1/audio/speech", json={"input": "Hello. World.", "stream": True, "response_format": "pcm"}
    ) as r:
        body = r.read()
    assert r.headers["content-type"] == "audio/pcm"
    assert len(body) % 2 == 0
    assert len(body) > 22050


def test_client_disconnect_cancels_generation(server: LiveServer) -> None:
    """Read the first chunk, drop the connection: the engine stops well before the last sentence."""
    limit = 20000
    server.app.state.service.settings = server.settings.model_copy(update={"max_text_chars": limit})
    stats = server.app.state.service.admission.stream_stats
    before_cancelled, before_segments = stats.cancelled, stats.segments
    sentences = 600
    text = "今天天气很好。" * sentences  # 4200 characters, 600 segments
    try:
        # A raw socket: send the request, read the first bytes, hang up without reading the rest.
        payload = json.dumps({"input": text, "stream": True, "response_format": "pcm"}).encode()
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            head = f"POST /v1/audio/speech HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            sock.sendall(f"{head}Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        deadline = time.monotonic() + 20
        while stats.cancelled == before_cancelled and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stats.cancelled == before_cancelled + 1
        assert stats.segments - before_segments < sentences
        admission = server.app.state.service.admission
        while admission.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (admission.in_flight, admission.streams) == (0, 0)  # the slot came back at once
    finally:
        server.app.state.service.settings = server.settings
    # The server is still serving.
    assert (
        httpx.post(f"{server.url}/v1/audio/speech", json={"input": "还在", "response_format": "wav"}).status_code == 200
    )


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"input": ""}, 422, "input"),
        ({"input": "   "}, 422, "input"),
        ({"input": "字" * 201}, 400, "input"),  # OpenAI's status for an over-long input
        ({}, 422, "input"),
        ({"input": "hi", "voice": "nobody"}, 422, "voice"),
        ({"input": "hi", "model": "gpt-5"}, 422, "model"),
        ({"input": "hi", "response_format": "aiff"}, 422, "response_format"),
        ({"input": "hi", "speed": 0.1}, 422, "speed"),
        ({"input": "hi", "speed": 4.5}, 422, "speed"),
        ({"input": "hi [ZZ9]"}, 422, "input"),
        ({"input": "报道[j]予好评"}, 422, "input"),
        ({"input": "hi", "language": "xx"}, 422, "language"),
        ({"input": "hi", "stream_format": "sse", "stream": False}, 422, "stream_format"),
        ({"input": "hi", "emotion": "happy"}, 422, "emotion"),
        ({"input": "hi", "sample_rate": 1000}, 422, "sample_rate"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(
    client: httpx.Client, body: dict[str, object], status: int, param: str
) -> None:
    response = client.post("/v1/audio/speech", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["param"] == param
    assert error["message"]
    # The server stays up and the next good request succeeds.
    assert client.post("/v1/audio/speech", json={"input": "好", "response_format": "wav"}).status_code == 200


def test_over_limit_names_limit_and_length(client: httpx.Client) -> None:
    error = client.post("/v1/audio/speech", json={"input": "字" * 250}).json()["error"]
    assert (error["limit"], error["length"], error["code"]) == (200, 250, "string_above_max_length")


def test_wrong_content_type_is_415(client: httpx.Client) -> None:
    response = client.post("/v1/audio/speech", data={"input": "hi"})
    assert response.status_code == 415
    assert response.json()["error"]["param"] == "Content-Type"
