"""The one service-time profile: first-chunk time and per-stream real-time factor vs streams in flight, per GPU type,
engine option and precision. cost-estimate prices from it, infra sizes the service's admission slots
(`service.max_concurrency`, TTS_MAX_CONCURRENCY) and the Auto Scaling target from it: one set of numbers.

Schema `voicefleet-service-time/1` (`data/service_time.json`, the prior; `profiles/*.json`, measured ones):
{"schema": "voicefleet-service-time/1",
 "entries": [{"gpu": "A10G", "engine_option": "pytorch", "precision": "fp16", "basis": "prior" | "measured",
              "verified": false, "device": "NVIDIA A10G", "date": "YYYY-MM-DD", "source": "...",
              "points": {"1": {"first_chunk_s": 1.08, "rtf": 0.35}, "2": {...}}}]}
`rtf` = wall seconds per audio second *of one stream* while that many streams are in flight (a stream plays without
stalling when it is below 1); `first_chunk_s` = admission to first audio at that many streams in flight. A measured
entry (written by `tts-bench calibrate --profile-out`) replaces the prior for its (gpu, option, precision).
Between points both are interpolated linearly; past the last point extrapolated along the last segment.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from voicefleet_config.instance_types import INSTANCE_GPUS

SCHEMA = "voicefleet-service-time/1"
PRIOR_FILE = Path(__file__).parent / "data" / "service_time.json"
PROFILES_DIR = Path(__file__).parent / "profiles"
EngineOption = Literal["pytorch", "trt", "vllm"]
ENGINE_OPTIONS: tuple[str, ...] = ("pytorch", "trt", "vllm")
PRECISIONS: tuple[str, ...] = ("fp16", "fp32")
# CosyVoice3 runs at most this many requests at once in one process (service/engines/cosyvoice3.py capabilities).
ENGINE_STREAM_LIMIT = 64


class ProfileError(ValueError):
    """A service-time profile that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class ServiceTime:
    """First-chunk time and per-stream RTF at each measured (or fitted) number of streams in flight."""

    gpu: str | None
    engine_option: str
    precision: str
    basis: str  # "prior" (fitted to published points, unverified) or "measured"
    verified: bool
    source: str
    date: str
    device: str
    points: tuple[tuple[int, float, float], ...]  # (streams, first_chunk_s, rtf), streams ascending

    def _at(self, streams: float, index: int) -> float:
        pts = self.points
        if len(pts) == 1:
            # One point: per-stream RTF grows with the streams sharing the GPU (no batching gain assumed).
            return pts[0][index] * (streams / pts[0][0] if index == 2 else 1.0)
        # The segment that holds `streams` (the first or last one beyond the measured range).
        i = next((j for j in range(len(pts) - 1) if streams <= pts[j + 1][0]), len(pts) - 2)
        (k0, *v0), (k1, *v1) = pts[i], pts[i + 1]
        lo, hi = v0[index - 1], v1[index - 1]
        return max(lo + (hi - lo) * (streams - k0) / (k1 - k0), 1e-6)

    def rtf(self, streams: float) -> float:
        """Per-stream real-time factor with `streams` in flight."""
        return self._at(max(streams, 1.0), 2)

    def first_chunk_s(self, streams: float) -> float:
        """Admission to first audio with `streams` in flight (this one included)."""
        return self._at(max(streams, 1.0), 1)

    def streams(self, *, ttfa_s: float, rtf_max: float, limit: int = ENGINE_STREAM_LIMIT) -> int:
        """Most streams in flight at which every stream stays below `rtf_max` and its first chunk within `ttfa_s`
        (0: not even one stream meets them)."""
        best = 0
        for k in range(1, limit + 1):
            if self.rtf(k) >= rtf_max or self.first_chunk_s(k) > ttfa_s:
                break
            best = k
        return best

    def label(self) -> str:
        what = "measured" if self.basis == "measured" else "prior fitted to published points"
        checked = "" if self.verified else ", unverified"
        return f"{what}: {self.gpu} {self.engine_option} {self.precision} ({self.device}, {self.date}{checked})"

    def to_json(self) -> dict[str, Any]:
        return {
            "gpu": self.gpu,
            "engine_option": self.engine_option,
            "precision": self.precision,
            "basis": self.basis,
            "verified": self.verified,
            "device": self.device,
            "date": self.date,
            "source": self.source,
            "points": {str(k): {"first_chunk_s": fc, "rtf": r} for k, fc, r in self.points},
        }


def _err(path: str, field: str, message: str) -> ProfileError:
    return ProfileError(f"service-time profile {path}: field '{field}': {message}")


def _positive(value: Any, path: str, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 or value == float("inf"):
        raise _err(path, field, f"{value!r} is not a positive finite number")
    return float(value)


def _text(raw: dict[str, Any], key: str, path: str, field: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _err(path, field, "missing or not a non-empty string")
    return value


def parse_entry(raw: Any, path: str, where: str) -> ServiceTime:
    if not isinstance(raw, dict):
        raise _err(path, where, "expected an object")
    gpu = raw.get("gpu")
    if gpu is not None and gpu not in set(INSTANCE_GPUS.values()) | {"L20"}:
        known = ", ".join(sorted(set(INSTANCE_GPUS.values())))
        raise _err(path, f"{where}.gpu", f"unknown GPU {gpu!r} (known: {known}; null for a CPU)")
    option = raw.get("engine_option")
    if option not in ENGINE_OPTIONS:
        raise _err(path, f"{where}.engine_option", f"{option!r} is not one of {', '.join(ENGINE_OPTIONS)}")
    precision = raw.get("precision")
    if precision not in PRECISIONS:
        raise _err(path, f"{where}.precision", f"{precision!r} is not one of {', '.join(PRECISIONS)}")
    basis = raw.get("basis")
    if basis not in ("prior", "measured"):
        raise _err(path, f"{where}.basis", f"{basis!r} is not 'prior' or 'measured'")
    date = _text(raw, "date", path, f"{where}.date")
    try:
        dt.date.fromisoformat(date)
    except ValueError as exc:
        raise _err(path, f"{where}.date", f"{date!r} is not YYYY-MM-DD") from exc
    table = raw.get("points")
    if not isinstance(table, dict) or not table:
        raise _err(path, f"{where}.points", 'missing or empty (e.g. {"1": {"first_chunk_s": 1.1, "rtf": 0.35}})')
    points: list[tuple[int, float, float]] = []
    for key, point in table.items():
        if not str(key).isdigit() or int(key) < 1:
            raise _err(path, f"{where}.points", f"key {key!r} is not a positive whole number of streams")
        if not isinstance(point, dict):
            raise _err(path, f"{where}.points.{key}", "expected {first_chunk_s, rtf}")
        fc = _positive(point.get("first_chunk_s"), path, f"{where}.points.{key}.first_chunk_s")
        rtf = _positive(point.get("rtf"), path, f"{where}.points.{key}.rtf")
        points.append((int(key), fc, rtf))
    return ServiceTime(
        gpu=gpu,
        engine_option=str(option),
        precision=str(precision),
        basis=str(basis),
        verified=bool(raw.get("verified", False)),
        source=_text(raw, "source", path, f"{where}.source"),
        date=date,
        device=str(raw.get("device") or gpu or "cpu"),
        points=tuple(sorted(points)),
    )


def parse_profile(raw: Any, path: str) -> tuple[ServiceTime, ...]:
    """Validate a decoded profile document; every error names the file and the field."""
    if not isinstance(raw, dict):
        raise ProfileError(f"service-time profile {path}: expected a JSON object")
    if raw.get("schema") != SCHEMA:
        raise _err(path, "schema", f"expected '{SCHEMA}', got {raw.get('schema')!r}")
    entries = raw.get("entries")
    if not isinstance(entries, list) or not entries:
        raise _err(path, "entries", "missing or empty")
    return tuple(parse_entry(e, path, f"entries[{i}]") for i, e in enumerate(entries))


def load_profile(path: Path) -> tuple[ServiceTime, ...]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"service-time profile {path}: cannot read ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise ProfileError(f"service-time profile {path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    return parse_profile(raw, str(path))


@cache
def prior() -> tuple[ServiceTime, ...]:
    return load_profile(PRIOR_FILE)


@cache
def measured() -> tuple[ServiceTime, ...]:
    """Measured entries shipped under profiles/ (a measured profile wins over the prior)."""
    found: list[ServiceTime] = []
    for path in sorted(PROFILES_DIR.glob("*.json")):
        found += [e for e in load_profile(path) if e.gpu is not None]
    return tuple(found)


def service_time(
    gpu: str, *, engine_option: str = "pytorch", precision: str = "fp16", extra: Iterable[ServiceTime] = ()
) -> ServiceTime:
    """The entry for (gpu, option, precision): an explicit profile (`extra`), else a shipped measured one, else the
    prior. ProfileError when none covers it."""
    for pool in (tuple(extra), measured(), prior()):
        for entry in pool:
            if (entry.gpu, entry.engine_option, entry.precision) == (gpu, engine_option, precision):
                return entry
    raise ProfileError(f"no service-time profile for {gpu} {engine_option} {precision}")


def gpu_of(instance_type: str) -> str:
    return INSTANCE_GPUS[instance_type]


def fleet_streams(
    instance_types: Sequence[str],
    *,
    fp16: bool,
    ttfa_s: float,
    rtf_max: float,
    engine_option: str = "pytorch",
    extra: Iterable[ServiceTime] = (),
) -> int:
    """Admission slots for a group that may launch any of `instance_types`: the streams its slowest GPU serves
    within the SLO (every instance gets the same TTS_MAX_CONCURRENCY). At least 1 (the cost model flags a type
    that cannot meet the SLO even alone)."""
    precision = "fp16" if fp16 else "fp32"
    extra = tuple(extra)
    counts = [
        service_time(gpu_of(t), engine_option=engine_option, precision=precision, extra=extra).streams(
            ttfa_s=ttfa_s, rtf_max=rtf_max
        )
        for t in instance_types
    ]
    return max(1, min(counts))
