"""Workload -> audio seconds, peak arrival rate, and how many instances an option needs during open hours."""

from __future__ import annotations

import math
from dataclasses import dataclass

from cost.catalog import model_value
from cost.throughput import ThroughputModel
from voicefleet_config import ServiceConfig, WorkloadConfig


@dataclass(frozen=True)
class Demand:
    audio_s_avg: float  # audio seconds of an average request
    audio_s_p95: float  # audio seconds of the p95-length request
    peak_rps: float  # requests/second at peak during open hours
    p95_chars: float  # characters of the p95-length request
    p95_basis: str  # where p95_chars comes from (configured, or the assumption)

    def p95_request(self) -> str:
        """'200 characters = 44.4 s of audio (assumed: ...)' for recommendations."""
        return f"{self.p95_chars:,.0f} characters = {self.audio_s_p95:.1f} s of audio ({self.p95_basis})"


@dataclass(frozen=True)
class Capacity:
    feasible: bool
    reasons: tuple[str, ...]
    concurrency: int  # streams per GPU at which latency still holds
    # Estimated p95 synthesis time at that concurrency; when only the latency target is missed, the best achievable
    # (at the lowest concurrency that fits memory), so the user sees how far off the target is.
    latency_p95_s: float
    requests_per_s_per_gpu: float
    instances: int
    misses_latency_only: bool = False  # infeasible only because of the latency target (memory fits)


def chars_per_second(language: str) -> float:
    table = model_value("chars_per_audio_second")
    return float(table[language])


def demand(workload: WorkloadConfig, service: ServiceConfig, open_hours_per_day: float) -> Demand:
    cps = chars_per_second(workload.language)
    limit = float(service.max_text_chars)
    if workload.p95_chars is not None:
        # EnvironmentConfig already refuses a p95 longer than the service accepts.
        p95_chars, basis = workload.p95_chars, "workload.p95_chars"
    else:
        factor = float(model_value("p95_length_factor"))
        p95_chars = max(min(limit, workload.avg_chars * factor), min(workload.avg_chars, limit))
        basis = f"assumed {factor:g}x the {workload.avg_chars:g}-character average, capped at max_text_chars {limit:g}"
    mean_rps = workload.requests_per_business_day / (open_hours_per_day * 3600) if open_hours_per_day else 0.0
    return Demand(workload.avg_chars / cps, p95_chars / cps, mean_rps * workload.peak_factor, p95_chars, basis)


def memory_gib(fp16: bool, concurrency: int) -> float:
    table = model_value("model_memory_gib")
    base = float(table["fp16" if fp16 else "fp32"])
    return base + concurrency * float(model_value("per_stream_memory_gib"))


def capacity(
    need: Demand,
    model: ThroughputModel,
    *,
    latency_target_s: float,
    gpu_memory_gib: float,
    fp16: bool,
    max_batch: int,
    min_instances: int,
) -> Capacity:
    """Highest concurrency that keeps the p95 request within target and fits memory; instances for the peak."""
    usable = gpu_memory_gib * float(model_value("gpu_memory_headroom"))
    reasons: list[str] = []
    best: tuple[int, float, float] | None = None
    missed_latency: float | None = None
    for conc, rtf in sorted(model.rtf_by_concurrency.items()):
        if conc > max_batch:
            break
        needed = model.memory_peak_gib if model.memory_peak_gib is not None else memory_gib(fp16, conc)
        if needed > usable:
            if best is None:
                reasons.append(f"needs {needed:.1f} GiB GPU memory at concurrency {conc}, {usable:.1f} GiB usable")
            break
        latency = need.audio_s_p95 * conc * rtf
        if latency > latency_target_s:
            if best is None:
                missed_latency = latency
                reasons.append(
                    f"p95 synthesis time {latency:.1f} s at concurrency {conc} exceeds the "
                    f"{latency_target_s:g} s target"
                )
            break
        best = (conc, latency, rtf)
    if best is None:
        if missed_latency is not None:
            return Capacity(False, tuple(reasons), 0, missed_latency, 0.0, 0, misses_latency_only=True)
        return Capacity(False, tuple(reasons) or ("no measured concurrency fits",), 0, 0.0, 0.0, 0)
    conc, latency, rtf = best
    per_gpu = 1 / (need.audio_s_avg * rtf) if need.audio_s_avg else math.inf
    utilization = float(model_value("max_utilization"))
    instances = math.ceil(need.peak_rps / (per_gpu * utilization)) if need.peak_rps else 0
    return Capacity(True, (), conc, latency, per_gpu, max(instances, min_instances, 1))
