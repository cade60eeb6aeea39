"""A throwaway local service for one-command benchmarks: the real `tts-serve` (espeak unless told otherwise) on a
free loopback port, stopped when the benchmark ends. With `--url` the benchmarks drive a service you started."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

from benchmarks.common import BenchError
from benchmarks.drills.serve_process import TtsServe

REPO_ROOT = Path(__file__).resolve().parents[1]


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


@contextlib.contextmanager
def baseline_service(ref: str, env: dict[str, str] | None = None, *, ready_timeout_s: float = 60) -> Iterator[TtsServe]:
    """`tts-serve` as it was at git `ref` of this repository (its tree exported to a temporary directory, run by
    this environment's interpreter and packages), with the same settings as `local_service`; ready on entry.
    Raises BenchError naming --against when the ref is unknown, this is not a git checkout, or that version does
    not start here (e.g. it needs packages this environment no longer has)."""
    with tempfile.TemporaryDirectory(prefix="tts-bench-baseline-") as tmp:
        source = Path(tmp) / "src"
        _export(ref, source)
        serve = TtsServe({"TTS_ENGINE": "espeak", **(env or {})}, Path(tmp), source=source)
        refused = f"--against {ref}: that version's tts-serve did not start here"
        started = f"started tts-serve at {ref} (pid {serve.pid}) at {serve.url} for this run: {_describe(env or {})}"
        with _ready(serve, ready_timeout_s, refused=refused, started=started):
            yield serve


@contextlib.contextmanager
def floor_service(engine_args: list[str], *, ready_timeout_s: float = 60) -> Iterator[TtsServe]:
    """The overhead benchmark's floor (benchmarks.floor: a bare ASGI app doing the same work on the same uvicorn)
    with `engine_args` (`--engine espeak`, ...), on a free loopback port; ready on entry."""
    with tempfile.TemporaryDirectory(prefix="tts-bench-floor-") as tmp:
        floor = TtsServe({}, Path(tmp), command=[sys.executable, "-m", "benchmarks.floor", *engine_args])
        started = f"started the floor server (bare ASGI app, pid {floor.pid}) at {floor.url}: {' '.join(engine_args)}"
        with _ready(floor, ready_timeout_s, refused="--floor: the floor server did not start", started=started):
            yield floor


@contextlib.contextmanager
def _ready(serve: TtsServe, timeout_s: float, *, refused: str, started: str) -> Iterator[None]:
    """Once `serve` answers /readyz (else BenchError "`refused`: why"), says `started`; kills it on the way out."""
    try:
        try:
            serve.wait_ready(timeout_s)
        except RuntimeError as exc:
            raise BenchError(f"{refused}: {exc}") from exc
        print(started)
        yield
    finally:
        serve.kill()


def resolve_ref(ref: str) -> str:
    """The commit `ref` names in this checkout; BenchError naming --against when there is none."""
    try:
        found = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            capture_output=True,
            text=True,
        )
    except FileNotFoundError as exc:
        raise BenchError("--against needs git on PATH") from exc
    if found.returncode != 0:
        raise BenchError(f"--against {ref}: not a commit of the checkout at {REPO_ROOT}")
    return found.stdout.strip()


def _export(ref: str, into: Path) -> None:
    """The files of `ref` (a commit, tag or branch of this checkout) under `into`."""
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", "--format=tar", resolve_ref(ref)], capture_output=True, check=True
    ).stdout
    into.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def _describe(env: dict[str, str]) -> str:
    shown = {k: ("<set>" if "KEY" in k else v) for k, v in env.items()}
    return ", ".join(f"{k}={v}" for k, v in {"TTS_ENGINE": "espeak", **shown}.items())
