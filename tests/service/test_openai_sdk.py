"""The OpenAI-compatible endpoint as the official `openai` Python SDK sees it: streamed by default (mp3, pcm, sse),
the first audio before synthesis ends, OpenAI's error shape and status codes, its voice names."""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterator, Sequence

import numpy as np
import openai
import pytest
import soundfile as sf

from service.engines.base import Audio, SynthesisRequest
from service.engines.espeak import EspeakEngine
from tests.service.conftest import LiveServer, live_server, make_settings

TEXT = "今天天气很好。我们一起去公园散步吧。然后去吃午饭。"


class GatedEspeak(EspeakEngine):
    """espeak that, after its first sentence, waits for the test before synthesizing the rest."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.finished = threading.Event()

    def stream(self, request: SynthesisRequest) -> Iterator[Audio]:
        for index, segment in enumerate(super().stream(request)):
            yield segment
            if index == 0:
                self.gate.wait(30)
        self.finished.set()

    def synthesize_batch(self, requests: Sequence[SynthesisRequest]):  # type: ignore[no-untyped-def]
        self.gate.wait(30)
        return super().synthesize_batch(requests)


@pytest.fixture
def gated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, GatedEspeak]]:
    engine = GatedEspeak()
    settings = make_settings(engine="espeak", voices_dir=tmp_path_factory.mktemp("voices"))
    with live_server(settings, engine=engine) as live:
        yield live, engine
        engine.gate.set()


def _client(live: LiveServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{live.url}/v1", api_key="unused-here", max_retries=0, timeout=60)


@pytest.mark.parametrize("fmt", ["mp3", "pcm", "opus", "aac", "flac", "wav"])
def test_sdk_streams_with_the_first_audio_before_synthesis_ends(
    gated: tuple[LiveServer, GatedEspeak], fmt: str
) -> None:
    live, engine = gated
    with _client(live).audio.speech.with_streaming_response.create(
        model="tts-1",
        voice="alloy",
        input=TEXT,
        response_format=fmt,  # type: ignore[arg-type]
    ) as response:
        assert "content-length" not in response.headers  # chunked: not the whole file at the end
        chunks = response.iter_bytes()
        first = next(chunks)
        assert first
        assert not engine.finished.is_set()  # audio arrived while the engine still holds the rest
        engine.gate.set()
        data = first + b"".join(chunks)
    assert engine.finished.is_set()
    if fmt == "pcm":
        assert response.headers["x-sample-rate"] == "24000"  # OpenAI's pcm: 24 kHz 16-bit mono LE, on every engine
        samples = np.frombuffer(data, "<i2")
        assert samples.size > 24000 * 2  # seconds of speech
        assert np.abs(samples).max() > 1000
    else:
        audio, rate = _decode_av(data)  # FFmpeg reads streams of unknown length (libsndfile does not)
        assert len(audio) > rate * 2
        assert float(np.abs(audio).max()) > 0.03


def _decode_av(data: bytes) -> tuple[np.ndarray, int]:
    import av

    with av.open(io.BytesIO(data), "r") as container:
        frames = [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
        rate = container.streams.audio[0].rate
    return np.concatenate(frames), int(rate)


def test_sdk_sse_events_carry_the_audio_then_done(gated: tuple[LiveServer, GatedEspeak]) -> None:
    live, engine = gated
    with _client(live).audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=TEXT, response_format="pcm", stream_format="sse"
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        first = json.loads(next(line for line in lines if line.startswith("data: "))[6:])
        assert first["type"] == "speech.audio.delta"
        assert not engine.finished.is_set()
        engine.gate.set()
        events = [first, *(json.loads(line[6:]) for line in lines if line.startswith("data: "))]
    deltas = [e for e in events if e["type"] == "speech.audio.delta"]
    assert events[-1]["type"] == "speech.audio.done"
    usage = events[-1]["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0
    pcm = b"".join(base64.b64decode(e["audio"]) for e in deltas)
    assert len(pcm) // 2 > 24000 * 2


@pytest.fixture(scope="module")
def espeak_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = make_settings(engine="espeak", voices_dir=tmp_path_factory.mktemp("voices"))
    with live_server(settings) as live:
        yield live


@pytest.mark.parametrize("voice", ["alloy", "ash", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer"])
def test_sdk_voice_names_resolve(espeak_server: LiveServer, voice: str) -> None:
    audio = _client(espeak_server).audio.speech.create(
        model="tts-1", voice=voice, input="你好。", response_format="wav"
    )
    assert sf.info(io.BytesIO(audio.read())).duration > 0.2


def test_too_long_input_is_400_naming_input(espeak_server: LiveServer) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _client(espeak_server).audio.speech.create(model="tts-1", voice="alloy", input="字" * 201)
    error = caught.value.body
    assert isinstance(error, dict)
    assert (caught.value.status_code, error["param"], error["code"]) == (400, "input", "string_above_max_length")


def test_unknown_voice_is_422_naming_voice_and_listing_voices(espeak_server: LiveServer) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        _client(espeak_server).audio.speech.create(model="tts-1", voice="no-such-voice", input="你好。")
    error = caught.value.body
    assert isinstance(error, dict)
    assert error["param"] == "voice"
    assert "alloy" in error["message"]


def test_a_field_that_would_change_behaviour_is_refused_not_ignored(espeak_server: LiveServer) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        _client(espeak_server).audio.speech.create(
            model="tts-1", voice="alloy", input="你好。", extra_body={"emotion": "happy"}
        )
    assert "emotion" in str(caught.value.body)
