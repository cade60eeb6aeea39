"""Measured throughput profiles (written by the benchmark, issue 8) that replace the roofline estimate.

Schema `voicefleet-profile/1`:
{"schema": "voicefleet-profile/1", "device": "NVIDIA A10G", "gpu": "A10G" | null, "engine": "cosyvoice3",
 "precision": "fp16", "rtf_by_concurrency": {"1": 0.12, ...}, "memory_peak_gib": 7.5, "date": "YYYY-MM-DD",
 "source": "how it was measured"}
RTF = compute seconds per audio second at that concurrency (wall time / total audio seconds of the streams).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cost.catalog import gpus_file
from cost.errors import CostInputError

SCHEMA = "voicefleet-profile/1"
PROFILES_DIR = Path(__file__).parent / "profiles"
_ENGINES = ("cosyvoice3", "loadmodel", "espeak")
_PRECISIONS = ("fp16", "fp32")


@dataclass(frozen=True)
class Profile:
    device: str
    gpu: str | None
    engine: str
    precision: str
    rtf_by_concurrency: dict[int, float]
    memory_peak_gib: float
    date: str
    source: str
    path: str

    def label(self) -> str:
        name = Path(self.path).name
        if self.engine == "loadmodel":
            # Random weights with CosyVoice3's shapes: a proxy for the real model's speed, never the model itself.
            return (
                f"measured loadmodel profile (CosyVoice3 shapes, random weights) on {self.device} "
                f"({name}, {self.precision}, {self.date})"
            )
        return f"measured profile {name} ({self.device}, {self.engine} {self.precision}, {self.date})"


def _field_error(path: str, field: str, message: str) -> CostInputError:
    return CostInputError(f"profile {path}: field '{field}': {message}")


def _str_field(raw: dict[str, Any], path: str, field: str) -> str:
    value = raw.get(field)
    if not isinstance(value, str) or not value.strip():
        raise _field_error(path, field, "missing or not a non-empty string")
    return value


def parse_profile(raw: Any, path: str) -> Profile:
    """Validate a decoded profile; every error names the field."""
    if not isinstance(raw, dict):
        raise CostInputError(f"profile {path}: expected a JSON object")
    if raw.get("schema") != SCHEMA:
        raise _field_error(path, "schema", f"expected '{SCHEMA}', got {raw.get('schema')!r}")
    device = _str_field(raw, path, "device")
    gpu = raw.get("gpu")
    known = tuple(gpus_file()["gpus"])
    if gpu is not None and gpu not in known:
        raise _field_error(path, "gpu", f"unknown GPU {gpu!r} (known: {', '.join(known)}; null for CPU)")
    engine = _str_field(raw, path, "engine")
    if engine not in _ENGINES:
        raise _field_error(path, "engine", f"{engine!r} is not one of {', '.join(_ENGINES)}")
    precision = _str_field(raw, path, "precision")
    if precision not in _PRECISIONS:
        raise _field_error(path, "precision", f"{precision!r} is not one of {', '.join(_PRECISIONS)}")
    table = raw.get("rtf_by_concurrency")
    if not isinstance(table, dict) or not table:
        raise _field_error(path, "rtf_by_concurrency", 'missing or empty (e.g. {"1": 0.12, "4": 0.07})')
    rtf: dict[int, float] = {}
    for key, value in table.items():
        if not str(key).isdigit() or int(key) < 1:
            raise _field_error(path, "rtf_by_concurrency", f"key {key!r} is not a positive integer concurrency")
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise _field_error(path, f"rtf_by_concurrency.{key}", f"{value!r} is not a positive number")
        rtf[int(key)] = float(value)
    memory = raw.get("memory_peak_gib")
    if isinstance(memory, bool) or not isinstance(memory, int | float) or memory <= 0:
        raise _field_error(path, "memory_peak_gib", f"{memory!r} is not a positive number of GiB")
    date = _str_field(raw, path, "date")
    try:
        dt.date.fromisoformat(date)
    except ValueError as exc:
        raise _field_error(path, "date", f"{date!r} is not YYYY-MM-DD") from exc
    source = _str_field(raw, path, "source")
    return Profile(device, gpu, engine, precision, dict(sorted(rtf.items())), float(memory), date, source, path)


def load_profile(path: Path) -> Profile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CostInputError(f"profile {path}: cannot read ({exc.strerror})") from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CostInputError(f"profile {path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    return parse_profile(raw, str(path))


def bundled_profiles() -> list[Profile]:
    """Profiles shipped under cost/profiles/ (used automatically; `throughput.pick` says which wins)."""
    return [load_profile(p) for p in sorted(PROFILES_DIR.glob("*.json"))]
