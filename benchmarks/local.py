"""A throwaway local service for one-command benchmarks: the real `tts-serve` (espeak unless told otherwise) on a
free loopback port, stopped when the benchmark ends. With `--url` the benchmarks drive a service you started."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from benchmarks.drills.serve_process import TtsServe


@contextlib.contextmanager
def local_service(env: dict[str, str] | None = None, *, ready_timeout_s: float = 60) -> Iterator[TtsServe]:
    """`tts-serve` with TTS_ENGINE=espeak, environment 'test' and its own voices dir, plus `env`; ready on entry."""
    with tempfile.TemporaryDirectory(prefix="tts-bench-") as tmp:
        serve = TtsServe({"TTS_ENGINE": "espeak", **(env or {})}, Path(tmp))
        try:
            serve.wait_ready(ready_timeout_s)
            print(f"started tts-serve (pid {serve.pid}) at {serve.url} for this run: {_describe(env or {})}")
            yield serve
        finally:
            serve.kill()


def _describe(env: dict[str, str]) -> str:
    shown = {k: ("<set>" if "KEY" in k else v) for k, v in env.items()}
    return ", ".join(f"{k}={v}" for k, v in {"TTS_ENGINE": "espeak", **shown}.items())
