"""What every benchmark shares: the exact command, machine facts, percentiles, WAV decoding, results files."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import io
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

RESULTS_DIR = Path("benchmarks/results")  # gitignored

# Mixed Mandarin / English / Cantonese / Japanese sentences of typical request length (10-60 characters).
SENTENCES: tuple[str, ...] = (
    "今天天气很好，我们去公园散步吧。",
    "Please confirm your appointment for Tuesday at 3 PM.",
    "欢迎致电客户服务中心，请问有什么可以帮您？",
    "The quarterly report shows a twelve percent increase in revenue.",
    "你好，我係你嘅語音助手。",
    "本日はご来店いただき、誠にありがとうございます。",
    "Your package has shipped and should arrive within three business days.",
    "请注意，列车即将进站，请站在黄线以外候车。",
)


class BenchError(Exception):
    """Bad input to a benchmark (exit code 2, one readable line)."""


class BenchFailedError(Exception):
    """The benchmark ran but its run is invalid (e.g. lost requests): exit code 1, loudly."""


def command_line() -> str:
    """The exact command as typed (program name without its directory)."""
    return shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def gpu_names() -> list[str]:
    """GPU names from nvidia-smi (no torch import needed); empty where there is none."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def machine_facts() -> dict[str, Any]:
    """CPU, cores, memory, GPU and library versions: what a reader needs to compare two runs."""
    mem_gib = None
    with contextlib.suppress(ValueError, OSError):
        mem_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return {
        "cpu": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "gpus": gpu_names(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": {p: _version(p) for p in ("voicefleet", "torch", "numpy", "httpx", "fastapi", "uvicorn")},
    }


def percentiles_ms(latencies_s: list[float]) -> dict[str, float | None]:
    if not latencies_s:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    p50, p95, p99 = np.percentile(np.asarray(latencies_s) * 1000.0, [50, 95, 99])
    return {"p50_ms": round(float(p50), 2), "p95_ms": round(float(p95), 2), "p99_ms": round(float(p99), 2)}


def wav_seconds(body: bytes) -> float:
    """Audio seconds of a WAV body, decoded for real (raises ValueError when it is not audio)."""
    try:
        info = sf.info(io.BytesIO(body))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise ValueError(f"response is not decodable audio: {exc}") from exc
    if info.samplerate <= 0:
        raise ValueError("response audio has no sample rate")
    return float(info.frames) / float(info.samplerate)


def default_out(kind: str) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return RESULTS_DIR / f"{kind}-{stamp}.json"


def result_header(kind: str, facts: dict[str, Any]) -> dict[str, Any]:
    """The fields every result file starts with: which benchmark, its exact command, the date and the machine."""
    return {"kind": kind, "command": command_line(), "date": dt.date.today().isoformat(), "machine": facts}


def ms_cell(value: float | None) -> str:
    """A milliseconds cell of a printed table (9 wide; '-' when there is no figure)."""
    return f"{value:>9.1f}" if value is not None else f"{'-':>9}"


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def print_header(title: str, facts: dict[str, Any]) -> None:
    print(f"== tts-bench {title}")
    print(f"command: {command_line()}")
    gpus = ", ".join(facts["gpus"]) or "none"
    versions = ", ".join(f"{k} {v}" for k, v in facts["versions"].items() if v)
    print(f"machine: {facts['cpu']} ({facts['cpu_cores']} cores, {facts['memory_gib']} GiB); GPU: {gpus}")
    print(f"software: Python {facts['python']}, {versions}")


def parse_concurrencies(text: str) -> list[int]:
    """'1,2,4' -> [1, 2, 4]; anything else raises BenchError naming the option."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise BenchError(f"--concurrency: '{text}' is not a comma-separated list of integers (e.g. 1,2,4,8)") from exc
    if not values or min(values) < 1:
        raise BenchError(f"--concurrency: '{text}' needs positive integers (e.g. 1,2,4,8)")
    return values
