"""Every CosyVoice3 mode through the real service over HTTP, on upstream's real code and the tiny checkpoint.

The tiny LLM never stops early, so every non-streamed answer holds exactly 20 speech tokens per text token, each
40 ms at 24 kHz (960 samples): a length test that fails if any segment, token or frame goes missing.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.service.conftest import LiveServer
from tests.upstream.conftest import ZERO_SHOT_TEXT, upstream_asset

SAMPLES_PER_TOKEN = 960
TEXT = "八百标兵奔北坡。"


@pytest.fixture(scope="module")
def http(cosy: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cosy.url, timeout=180) as client:
        yield client


@pytest.fixture(scope="module")
def clip() -> bytes:
    return upstream_asset("zero_shot_prompt.wav").read_bytes()


def _expected_samples(cosy: LiveServer, *texts: str) -> int:
    tokenizer = cosy.state.engine._model.frontend.tokenizer  # type: ignore[attr-defined]
    return sum(20 * len(tokenizer.encode(t)) * SAMPLES_PER_TOKEN for t in texts)


def _decode(data: bytes) -> tuple[np.ndarray[Any, Any], int]:
    audio, rate = sf.read(io.BytesIO(data), dtype="float32")
    return np.asarray(audio), int(rate)


def _clone(http: httpx.Client, clip: bytes, **form: Any) -> httpx.Response:
    files = {"prompt_audio": ("zero_shot_prompt.wav", clip, "audio/wav")}
    return http.post("/v1/tts", data={"format": "wav", **form}, files=files)


def test_zero_shot_clone_from_upstreams_prompt(cosy: LiveServer, http: httpx.Client, clip: bytes) -> None:
    response = _clone(http, clip, text=TEXT, prompt_text=ZERO_SHOT_TEXT)
    assert response.status_code == 200, response.text
    audio, rate = _decode(response.content)
    assert rate == 24000
    assert audio.size == _expected_samples(cosy, TEXT)
    assert float(response.headers["X-Audio-Duration"]) == pytest.approx(audio.size / 24000, abs=1e-3)


def test_saved_voice_through_the_openai_endpoint(cosy: LiveServer, http: httpx.Client, clip: bytes) -> None:
    saved = http.post(
        "/v1/voices", data={"name": "anna", "text": ZERO_SHOT_TEXT}, files={"audio": ("a.wav", clip, "audio/wav")}
    )
    assert saved.status_code == 201, saved.text
    for fmt, media in (("mp3", "audio/mpeg"), ("wav", "audio/wav")):
        response = http.post("/v1/audio/speech", json={"input": TEXT, "voice": "anna", "response_format": fmt})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == media
        audio, rate = _decode(response.content)
        assert rate == 24000
        if fmt == "wav":
            assert audio.size == _expected_samples(cosy, TEXT)
    assert "voicefleet:zs:anna" in cosy.state.engine.cached_speakers()  # type: ignore[attr-defined]
    assert http.delete("/v1/voices/anna").status_code == 204
    assert "voicefleet:zs:anna" not in cosy.state.engine._model.frontend.spk2info  # type: ignore[attr-defined]


def test_cross_lingual_without_a_transcript(cosy: LiveServer, http: httpx.Client, clip: bytes) -> None:
    response = _clone(http, clip, text="Hi there.")
    assert response.status_code == 200, response.text
    # Cross-lingual mode carries the end-of-prompt marker in the text itself (upstream requires it), and the LLM
    # counts its maximum length over all of that text: the prefix costs speech tokens too.
    framed = "You are a helpful assistant.<|endofprompt|>Hi there."
    assert _decode(response.content)[0].size == _expected_samples(cosy, framed)


def test_instruct2_with_a_mapped_instruction(http: httpx.Client, clip: bytes) -> None:
    response = _clone(http, clip, text="好少咯。", prompt_text=ZERO_SHOT_TEXT, instruct="用广东话说这句话")
    assert response.status_code == 200, response.text
    assert _decode(response.content)[1] == 24000


@pytest.mark.parametrize(("path", "field"), [("/v1/tts", "instruct"), ("/v1/audio/speech", "instructions")])
def test_unmappable_instruction_is_422_naming_the_field(http: httpx.Client, clip: bytes, path: str, field: str) -> None:
    if path == "/v1/tts":
        response = _clone(http, clip, text=TEXT, instruct="用火星语说")
    else:
        assert http.post("/v1/voices", data={"name": "ins"}, files={"audio": ("a.wav", clip, "audio/wav")}).is_success
        response = http.post("/v1/audio/speech", json={"input": TEXT, "voice": "ins", "instructions": "sing it"})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["param"] == field
    assert "四川话" in error["message"] or "Sichuan" in error["message"] or "loudly" in error["message"]


def test_phoneme_tags_are_synthesized(cosy: LiveServer, http: httpx.Client, clip: bytes) -> None:
    text = "It takes a [M][AY0][N][UW1][T]."
    response = _clone(http, clip, text=text, prompt_text=ZERO_SHOT_TEXT)
    assert response.status_code == 200, response.text
    assert _decode(response.content)[0].size == _expected_samples(cosy, text)


@pytest.mark.parametrize("text", ["几[ji3]", "[a1]好"])
def test_tags_outside_the_tokenizer_are_422(http: httpx.Client, clip: bytes, text: str) -> None:
    response = _clone(http, clip, text=text, prompt_text=ZERO_SHOT_TEXT)
    assert response.status_code == 422
    assert response.json()["error"]["param"] == "text"


def test_punctuation_only_text_is_422_and_no_rebuild(cosy: LiveServer, http: httpx.Client, clip: bytes) -> None:
    model = cosy.state.engine._model  # type: ignore[attr-defined]
    response = _clone(http, clip, text="。！？…", prompt_text=ZERO_SHOT_TEXT)
    assert response.status_code == 422
    assert response.json()["error"]["param"] == "text"
    assert cosy.state.engine._model is model  # type: ignore[attr-defined]


@pytest.mark.parametrize("fmt", ["wav", "pcm"])
def test_streamed_audio_is_all_there(cosy: LiveServer, http: httpx.Client, clip: bytes, fmt: str) -> None:
    with http.stream("POST", "/v1/tts", data={"text": TEXT, "prompt_text": ZERO_SHOT_TEXT, "format": fmt,
                     "stream": "true"}, files={"prompt_audio": ("p.wav", clip, "audio/wav")}) as response:  # fmt: skip
        assert response.status_code == 200
        chunks = list(response.iter_bytes())
    body = b"".join(chunks)
    pcm = body[44:] if fmt == "wav" else body
    assert len(pcm) // 2 == _expected_samples(cosy, TEXT)


def test_speed_halves_the_frames(cosy: LiveServer, http: httpx.Client, clip: bytes) -> None:
    response = _clone(http, clip, text=TEXT, prompt_text=ZERO_SHOT_TEXT, speed="2.0")
    assert response.status_code == 200, response.text
    assert _decode(response.content)[0].size == _expected_samples(cosy, TEXT) // 2


def test_sample_rate_is_24k_unless_asked(http: httpx.Client, clip: bytes) -> None:
    response = _clone(http, clip, text="你好。", prompt_text=ZERO_SHOT_TEXT, sample_rate="16000")
    assert _decode(response.content)[1] == 16000


def test_models_endpoint_describes_the_real_engine(http: httpx.Client) -> None:
    model = http.get("/v1/models").json()["data"][0]
    assert model["id"] == "cosyvoice3"
    assert model["capabilities"]["sample_rate"] == 24000


# -- failures on upstream's LLM thread, seen by a client -----------------------------------------------------------


@pytest.fixture
def failing_llm(cosy: LiveServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    llm = cosy.state.engine._model.model.llm  # type: ignore[attr-defined]
    original = llm.inference
    # "gate": when set, the failure waits for it (the client has audio), so when the failure strikes does not depend on
    # how fast the LLM thread outruns upstream's 0.1 s polling loop on a loaded machine.
    plan: dict[str, Any] = {"after": 40, "error": RuntimeError("injected LLM failure"), "gate": None}

    def inference(*args: Any, **kwargs: Any) -> Iterator[int]:
        for i, token in enumerate(original(*args, **kwargs)):
            if i == plan["after"]:
                if plan["gate"] is not None:
                    plan["gate"].wait(timeout=120)
                raise plan["error"]
            yield token

    monkeypatch.setattr(llm, "inference", inference)
    return plan


def test_thread_failure_is_a_json_500_and_the_service_stays_ready(
    cosy: LiveServer, http: httpx.Client, clip: bytes, failing_llm: dict[str, Any]
) -> None:
    response = _clone(http, clip, text=TEXT, prompt_text=ZERO_SHOT_TEXT)
    assert response.status_code == 500
    assert "injected LLM failure" in response.json()["error"]["message"]
    assert http.get("/readyz").status_code == 200


def test_thread_failure_mid_stream_is_not_a_clean_end(
    http: httpx.Client, clip: bytes, failing_llm: dict[str, Any]
) -> None:
    form = {"text": TEXT * 2, "prompt_text": ZERO_SHOT_TEXT, "format": "wav", "stream": "true"}
    received: list[bytes] = []
    # Upstream's first streamed chunk needs token_hop_len (25) + the prompt's pad to a hop multiple (< 25) + the flow's
    # lookahead (3) tokens: at most 52. The LLM fails at token 80, once the client holds audio.
    failing_llm["after"] = 80
    failing_llm["gate"] = first_audio = threading.Event()

    def read_stream() -> None:
        files = {"prompt_audio": ("p.wav", clip, "audio/wav")}
        with http.stream("POST", "/v1/tts", data=form, files=files) as response:
            assert response.status_code == 200  # the header went out before the failure
            for chunk in response.iter_bytes():
                received.append(chunk)
                first_audio.set()  # only now does the LLM thread fail: mid-stream by construction

    # The chunked body ends without its terminating chunk: the client sees a broken message, never a clean end.
    with pytest.raises(httpx.RemoteProtocolError):
        read_stream()
    assert received  # audio before the failure arrived
    assert http.get("/readyz").status_code == 200


def test_unrecoverable_device_error_turns_readyz_503(
    cosy: LiveServer, http: httpx.Client, clip: bytes, failing_llm: dict[str, Any]
) -> None:
    failing_llm["error"] = RuntimeError("CUDA error: device-side assert triggered")
    try:
        assert _clone(http, clip, text=TEXT, prompt_text=ZERO_SHOT_TEXT).status_code == 500
        ready = http.get("/readyz")
        assert ready.status_code == 503
        assert "device-side assert" in ready.json()["error"]
    finally:
        cosy.state.engine.fatal_error = None  # type: ignore[attr-defined]
    assert http.get("/readyz").status_code == 200


def test_fp16_on_cpu_is_refused_at_startup_in_one_line(tiny_dir: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    serve = Path(sys.executable).parent / "tts-serve"
    out = subprocess.run(
        [str(serve), "--engine", "cosyvoice3", "--model-dir", str(tiny_dir), "--device", "cpu", "--fp16",
         "--voices-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2
    [line] = out.stderr.strip().splitlines()
    assert line.startswith("tts-serve: ")
    assert "fp16" in line
    assert "TTS_FP16=false" in line
