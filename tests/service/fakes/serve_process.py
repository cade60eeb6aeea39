"""The real `tts-serve` console script as a subprocess on 127.0.0.1, to watch it drain and see its exit code."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[3]
# The installed entry point (pip install -e .), exactly what systemd runs on an instance.
TTS_SERVE = shutil.which("tts-serve", path=str(Path(sys.executable).parent)) or "tts-serve"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TtsServe:
    """`tts-serve --port N` with TTS_* settings from `env` (environment 'test', no IMDS polling unless given)."""

    def __init__(self, env: dict[str, str], tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {
            **os.environ,
            "TTS_ENVIRONMENT": "test",
            "TTS_SPOT_WATCH": "false",
            "TTS_VOICES_DIR": str(tmp_path / "voices"),
            **env,
        }
        self.proc = subprocess.Popen(
            [TTS_SERVE, "--port", str(self.port)],
            cwd=REPO,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_ready(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tts-serve exited early: {self.proc.communicate()[1][-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("tts-serve did not become ready")

    def wait_exit(self, timeout_s: float = 60) -> tuple[int, list[dict[str, Any]]]:
        """(exit code, its JSON log lines)."""
        _out, err = self.proc.communicate(timeout=timeout_s)
        events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        return self.proc.returncode, events

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def event(events: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The first log line with `"event": name`."""
    found = next((e for e in events if e.get("event") == name), None)
    if found is None:
        raise AssertionError(f"no '{name}' event in the log: {[e.get('message') for e in events][-20:]}")
    return found
