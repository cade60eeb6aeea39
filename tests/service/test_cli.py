"""`tts-serve`: options become settings, bad ones exit 2 with one line, and a real process serves and stops."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from service.cli import cli


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--engine", "cosyvoice3"], "TTS_MODEL_DIR"),
        (["--engine", "cosyvoice3", "--model-dir", "/nonexistent/weights"], "/nonexistent/weights does not exist"),
        (["--max-text-len", "0"], "max_text_chars"),
        (["--engine", "cosyvoice3", "--model-dir", ".", "--fp16", "--device", "cpu"], "fp16 needs a GPU"),
        (["--engine", "loadmodel"], "TTS_ALLOW_LOADMODEL=true"),
        (["--log-level", "chatty"], "log_level"),
    ],
)
def test_bad_options_exit_2_with_one_line(args: list[str], needle: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert needle in lines[0]


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"TTS_ENVIRONMENT": "prod"}, "environment 'prod' requires TTS_API_KEYS"),
        ({"TTS_ENVIRONMENT": "prod", "TTS_API_KEYS": "tooshort"}, "at least 16 characters"),
        ({"TTS_ENVIRONMENT": "prod", "TTS_API_KEYS": "k-0123456789abcdef", "TTS_FAULT_OOM_EVERY": "2"}, "drills"),
        ({"TTS_STORE_DEFAULT": "true"}, "needs TTS_OUTPUTS_BUCKET"),
        ({"TTS_OUTPUTS_BUCKET": "b", "TTS_SPOOL_DIR": "/proc/voicefleet-spool"}, "TTS_SPOOL_DIR"),
    ],
)
def test_unsafe_environments_are_refused_at_startup(env: dict[str, str], needle: str) -> None:
    result = CliRunner().invoke(cli, [], env=env)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert needle in lines[0]


def test_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "TTS_VOICES_DIR": str(tmp_path), "TTS_ENVIRONMENT": "test", "TTS_SPOT_WATCH": "false"}
    command = [sys.executable, "-m", "service.cli", "--port", str(port), "--max-text-len", "50", "--log-level", "info"]
    process = subprocess.Popen(command, env=env, cwd=Path(__file__).parents[2], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "tts-serve exited"
            assert time.monotonic() < deadline, "tts-serve did not become ready"
            time.sleep(0.2)
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models").json()
        assert models["data"][0]["max_text_chars"] == 50
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=30)
        # SIGTERM drains (readiness 503, admitted work finishes, spool flushed) and the process exits 0.
        assert process.returncode == 0, log[-3000:]
        events = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        assert any(e.get("event") == "shutdown" and e.get("reason") == "SIGTERM" for e in events)
        assert any(e.get("message") == "Application shutdown complete." for e in events)
    finally:
        if process.poll() is None:
            process.kill()
