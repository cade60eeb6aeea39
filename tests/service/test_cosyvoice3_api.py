"""The service running the cosyvoice3 engine (fake `cosyvoice` package, device cpu) behind the real HTTP API."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import soundfile as sf

from service.engines.base import EngineNotReadyError
from service.engines.registry import build_engine
from tests.service.conftest import CLIP_TEXT, FAKES, LiveServer, live_server, make_settings, speech_clip


@pytest.fixture(scope="module")
def cosy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    model_dir = tmp_path_factory.mktemp("model")
    (model_dir / "cosyvoice3.yaml").write_text("# fake\n")
    sys.path.insert(0, str(FAKES))
    settings = make_settings(
        engine="cosyvoice3",
        model_dir=model_dir,
        device="cpu",
        voices_dir=tmp_path_factory.mktemp("voices"),
        environment="test",
    )
    try:
        with live_server(settings) as live:
            yield live
    finally:
        sys.path.remove(str(FAKES))


def test_models_and_clone(cosy: LiveServer) -> None:
    with httpx.Client(base_url=cosy.url, timeout=60) as http:
        model = http.get("/v1/models").json()["data"][0]
        assert model["id"] == "cosyvoice3"
        assert model["capabilities"]["clone"] is True
        assert model["capabilities"]["sample_rate"] == 24000
        assert http.get("/v1/voices").json()["voices"] == []  # no built-in speakers

        response = http.post(
            "/v1/tts",
            data={"text": "你好[j][ǐ]。", "prompt_text": CLIP_TEXT, "format": "wav"},
            files={"prompt_audio": ("p.wav", speech_clip(rate=16000), "audio/wav")},
        )
        assert response.status_code == 200, response.text
        info = sf.info(io.BytesIO(response.content))
        assert info.samplerate == 24000
        assert info.duration > 0.5

        needs_voice = http.post("/v1/audio/speech", json={"input": "你好", "model": "cosyvoice3"})
        assert needs_voice.status_code == 422
        assert needs_voice.json()["error"]["param"] == "voice"

        saved = http.post(
            "/v1/voices",
            data={"name": "anna", "text": CLIP_TEXT},
            files={"audio": ("a.wav", speech_clip(), "audio/wav")},
        )
        assert saved.status_code == 201
        speech = http.post("/v1/audio/speech", json={"input": "你好", "voice": "anna", "response_format": "mp3"})
        assert speech.status_code == 200
        assert speech.headers["content-type"] == "audio/mpeg"
        assert sf.info(io.BytesIO(speech.content)).samplerate == 24000


def test_missing_model_dir_fails_startup_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "weights"
    settings = make_settings(engine="cosyvoice3", model_dir=missing, device="cpu", environment="test")
    with pytest.raises(EngineNotReadyError, match=str(missing)):
        build_engine(settings)
    with pytest.raises(RuntimeError, match="exited during startup"), live_server(settings):
        pass


def test_failed_load_keeps_process_alive_but_not_ready(tmp_path: Path) -> None:
    """A model dir that passes the cheap checks but fails to load (no `cosyvoice` package importable here)."""
    (tmp_path / "cosyvoice3.yaml").write_text("# fake\n")
    settings = make_settings(engine="cosyvoice3", model_dir=tmp_path, device="cpu", environment="test")
    saved_path = list(sys.path)
    sys.path[:] = [p for p in sys.path if p != str(FAKES)]
    for module in ("cosyvoice.cli.cosyvoice", "cosyvoice.cli", "cosyvoice"):
        sys.modules.pop(module, None)
    try:
        with live_server(settings) as live:
            ready = httpx.get(f"{live.url}/readyz")
            assert ready.status_code == 503
            assert ready.json()["status"] == "failed"
            assert "cosyvoice" in ready.json()["error"]
            assert httpx.get(f"{live.url}/healthz").status_code == 200
            clip = {"prompt_audio": ("p.wav", speech_clip(), "audio/wav")}
            response = httpx.post(f"{live.url}/v1/tts", data={"text": "hi"}, files=clip)
            assert response.status_code == 503
    finally:
        sys.path[:] = saved_path
