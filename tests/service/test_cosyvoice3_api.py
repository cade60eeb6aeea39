"""The cosyvoice3 engine's startup failures behind the real HTTP API, where upstream's code is absent (the main
environment). Its modes on upstream's real code are tested in tests/upstream/test_modes_http.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import httpx
import pytest

from service.engines.base import EngineNotReadyError
from service.engines.registry import build_engine
from tests.service.conftest import live_server, make_settings, speech_clip


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
    if importlib.util.find_spec("cosyvoice") is not None:
        pytest.skip("upstream cosyvoice is importable here; this test is for an environment without it")
    with live_server(settings) as live:
        ready = httpx.get(f"{live.url}/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "failed"
        assert "cosyvoice" in ready.json()["error"]
        assert httpx.get(f"{live.url}/healthz").status_code == 200
        clip = {"prompt_audio": ("p.wav", speech_clip(), "audio/wav")}
        response = httpx.post(f"{live.url}/v1/tts", data={"text": "hi"}, files=clip)
        assert response.status_code == 503
