"""The real `tts-serve` console script as a subprocess on 127.0.0.1, to load it, watch it drain and see its exit code.

Its stdout/stderr go to files, not pipes: a server that logs one JSON line per request would otherwise block on a
full pipe after a few hundred requests, long before anyone reads it.
"""

from __future__ import annotations

import contextlib
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

# The installed entry point (pip install -e .), exactly what systemd runs on an instance.
TTS_SERVE = shutil.which("tts-serve", path=str(Path(sys.executable).parent)) or "tts-serve"
# What the console script runs, for a tree on PYTHONPATH instead of the installed package.
_SERVE_FROM_SOURCE = "import sys; sys.argv[0] = 'tts-serve'; from service.cli import main; main()"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TtsServe:
    """`tts-serve --port N` with TTS_* settings from `env` (environment 'test', no IMDS polling unless given).

    `port` reuses a port (a restarted process, as systemd would start it); its log goes to `tmp_path`."""

    def __init__(
        self,
        env: dict[str, str],
        tmp_path: Path,
        *,
        port: int | None = None,
        source: Path | None = None,
        command: list[str] | None = None,
    ) -> None:
        """`source`: serve the service code in that directory (another version's tree, e.g. `tts-bench overhead
        --against`) through this environment's interpreter, instead of the installed console script. `command`:
        run this instead of tts-serve (given `--port N` too; it must answer GET /readyz), e.g. the overhead
        benchmark's floor server."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {
            **os.environ,
            "TTS_ENVIRONMENT": "test",
            "TTS_SPOT_WATCH": "false",
            "TTS_VOICES_DIR": str(tmp_path / "voices"),
            **env,
        }
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.log_path = tmp_path / f"tts-serve-{self.port}-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("w", encoding="utf-8")
        command = command or [TTS_SERVE]
        if source is not None:
            full_env["PYTHONPATH"] = str(source)
            command = [sys.executable, "-c", _SERVE_FROM_SOURCE]
        self.proc = subprocess.Popen(
            [*command, "--port", str(self.port)],
            env=full_env,
            cwd=source,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_text(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def events(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far."""
        found = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):
                    found.append(json.loads(line))
        return found

    def wait_ready(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tts-serve exited early (code {self.proc.returncode}): {self.log_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"tts-serve did not become ready in {timeout_s} s: {self.log_text()[-3000:]}")

    def wait_exit(self, timeout_s: float = 60) -> tuple[int, list[dict[str, Any]]]:
        """(exit code, its JSON log lines)."""
        code = self.proc.wait(timeout=timeout_s)
        self._log.close()
        return code, self.events()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def event(events: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The first log line with `"event": name`."""
    found = next((e for e in events if e.get("event") == name), None)
    if found is None:
        raise AssertionError(f"no '{name}' event in the log: {[e.get('message') for e in events][-20:]}")
    return found


def seen_request_ids(events: list[dict[str, Any]]) -> set[str]:
    """Request ids the server logged as requests (it read them)."""
    return {str(e["request_id"]) for e in events if e.get("event") == "request" and e.get("request_id")}


def served_by_server(events: list[dict[str, Any]], path: str) -> int:
    return sum(1 for e in events if e.get("event") == "request" and e.get("route") == path and e.get("status") == 200)
