"""Service test fixtures: a real uvicorn on 127.0.0.1 (random port) running create_app(settings), in a thread.

Reusable by part 2: `live_server(settings)` starts one server and returns a handle; the module-scoped `server`
fixture gives each test module its own espeak server with a fresh voices directory.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from service.app import create_app
from service.settings import Settings

FAKES = Path(__file__).parent / "fakes"


@dataclass
class LiveServer:
    url: str
    app: FastAPI
    settings: Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(settings: Settings, *, ready_timeout_s: float = 30.0) -> Iterator[LiveServer]:
    """Run uvicorn with create_app(settings) until the block ends; waits for /healthz (and /readyz if possible)."""
    settings = settings.model_copy(update={"host": "127.0.0.1", "port": _free_port()})
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning"))

    def run() -> None:
        with suppress(SystemExit):  # uvicorn exits the thread on a failed startup; the check below reports it
            server.run()

    thread = threading.Thread(target=run, name="uvicorn-test", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{settings.port}"
    deadline = time.monotonic() + ready_timeout_s
    try:
        while True:
            if not thread.is_alive():
                raise RuntimeError("uvicorn exited during startup (see the log above)")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code in (200, 503):
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not answer /healthz within {ready_timeout_s} s")
            time.sleep(0.05)
        while httpx.get(f"{url}/readyz", timeout=2).json()["status"] == "loading" and time.monotonic() < deadline:
            time.sleep(0.05)
        yield LiveServer(url=url, app=app, settings=settings)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """An espeak server for this test module (fresh voices dir, limit 200 characters)."""
    settings = Settings(engine="espeak", voices_dir=tmp_path_factory.mktemp("voices"), environment="test")
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


CLIP_TEXT = "今天天气很好，我们一起去公园散步吧。"
