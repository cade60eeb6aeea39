"""Service test fixtures: the real app (create_app) on a real uvicorn at 127.0.0.1 (random port), in a thread, run
by the same DrainingServer `tts-serve` uses, so a drain (recycle, admin restart, Spot notice) really stops it.

`live_server(settings)` starts one server and returns a handle; the module-scoped `server` fixture gives each test
module its own espeak server with a fresh voices directory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.api.state import ServiceState
from service.app import create_app
from service.engines.base import Engine
from service.server import build_server
from service.settings import Settings


def make_settings(**values: Any) -> Settings:
    """Settings for an in-process test server: environment 'test', no IMDS polling unless asked for."""
    values.setdefault("environment", "test")
    values.setdefault("spot_watch", False)
    return Settings(**values)


@dataclass
class LiveServer:
    url: str
    app: FastAPI
    settings: Settings
    thread: threading.Thread

    @property
    def state(self) -> ServiceState:
        state: ServiceState = self.app.state.service
        return state

    def wait_stopped(self, timeout_s: float = 30.0) -> bool:
        """True once the server stopped by itself (after a drain)."""
        self.thread.join(timeout_s)
        return not self.thread.is_alive()


@contextmanager
def live_server(
    settings: Settings, *, engine: Engine | None = None, ready_timeout_s: float = 30.0
) -> Iterator[LiveServer]:
    """Run create_app(settings) until the block ends (leaving it drains and stops the server); waits for the
    engine to load (readiness no longer 'loading')."""
    app = create_app(settings, engine=engine)
    server = build_server(app, host="127.0.0.1", port=0, log_level="warning")

    def run() -> None:
        with suppress(SystemExit):  # uvicorn exits the thread on a failed startup; the check below reports it
            server.run()

    thread = threading.Thread(target=run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + ready_timeout_s
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn exited during startup (see the log above)")
        if time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start within {ready_timeout_s} s")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    try:
        while httpx.get(f"{url}/readyz", timeout=5).json()["status"] == "loading" and time.monotonic() < deadline:
            time.sleep(0.02)
        yield LiveServer(url=url, app=app, settings=settings, thread=thread)
    finally:
        server.should_exit = True
        thread.join(timeout=60)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """An espeak server for this test module (fresh voices dir, limit 200 characters)."""
    settings = make_settings(engine="espeak", voices_dir=tmp_path_factory.mktemp("voices"))
    with live_server(settings) as live:
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def speech_clip(*, fmt: str = "WAV", rate: int = 22050, repeat: int = 2, subtype: str | None = None) -> bytes:
    """A real spoken clip (espeak, Mandarin, about 3.5 s per repeat) encoded as `fmt` at `rate`, for prompt uploads."""
    import io

    import soundfile as sf

    from service.audio.resample import resample
    from service.engines.base import SynthesisRequest
    from service.engines.espeak import EspeakEngine

    engine = EspeakEngine()
    engine.load()
    text = "今天天气很好，我们一起去公园散步吧。" * repeat
    result = engine.synthesize_batch([SynthesisRequest(text=text, language="zh")])[0]
    audio = resample(result.audio, result.sample_rate, rate)
    buffer = io.BytesIO()
    sf.write(buffer, audio, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def flac_bomb(*, rate: int = 192_000, channels: int = 8, seconds: int = 29) -> bytes:
    """A tiny FLAC that decodes huge: near-silence (one click, so not silent) at `rate` x `channels`, under 30 s by
    its header. The defaults come to ~45 KB that decode to 178 MB of float32; the audit's was 8 x 655,350 Hz
    (165 KB, 608 MB). Written a second at a time, so the test never holds the decoded size itself."""
    import io

    import numpy as np
    import soundfile as sf

    buffer = io.BytesIO()
    with sf.SoundFile(buffer, "w", samplerate=rate, channels=channels, format="FLAC", subtype="PCM_16") as clip:
        second = np.zeros((rate, channels), dtype=np.int16)
        second[:1000, 0] = 16000
        clip.write(second)
        second[:1000, 0] = 0
        for _ in range(seconds - 1):
            clip.write(second)
    return buffer.getvalue()


CLIP_TEXT = "今天天气很好，我们一起去公园散步吧。"
