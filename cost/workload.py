"""Workload -> audio seconds, peak arrival rate, and how many instances an option needs during open hours."""

from __future__ import annotations

import math
from dataclasses import dataclass

from cost.catalog import model_value
from cost.throughput import ThroughputModel
from infra.config.model import ServiceConfig, WorkloadConfig


@dataclass(frozen=True)
class Demand:
    audio_s_avg: float  # audio seconds of an average request
    audio_s_p95: float  # audio seconds of the p95-length request
    peak_rps: float  # requests/second at peak during open hours


@dataclass(frozen=True)
class Capacity:
    feasible: bool
    reasons: tuple[str, ...]
    concurrency: int  # streams per GPU at which latency still holds
    latency_p95_s: float  # estimated p95 synthesis time at that concurrency
    requests_per_s_per_gpu: float
    instances: int


def chars_per_second(language: str) -> float:
    table = model_value("chars_per_audio_second")
    return float(table[language])


def demand(workload: WorkloadConfig, service: ServiceConfig, open_hours_per_day: float) -> Demand:
    cps = chars_per_second(workload.language)
    p95_chars = min(float(service.max_text_chars), workload.avg_chars * float(model_value("p95_length_factor")))
    p95_chars = max(p95_chars, min(workload.avg_chars, float(service.max_text_chars)))
    mean_rps = workload.requests_per_business_day / (open_hours_per_day * 3600) if open_hours_per_day else 0.0
    return Demand(workload.avg_chars / cps, p95_chars / cps, mean_rps * workload.peak_factor)


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
                reasons.append(
                    f"p95 synthesis time {latency:.1f} s at concurrency {conc} exceeds the "
                    f"{latency_target_s:g} s target"
                )
            break
        best = (conc, latency, rtf)
    if best is None:
        return Capacity(False, tuple(reasons) or ("no measured concurrency fits",), 0, 0.0, 0.0, 0)
    conc, latency, rtf = best
    per_gpu = 1 / (need.audio_s_avg * rtf) if need.audio_s_avg else math.inf
    utilization = float(model_value("max_utilization"))
    instances = math.ceil(need.peak_rps / (per_gpu * utilization)) if need.peak_rps else 0
    return Capacity(True, (), conc, latency, per_gpu, max(instances, min_instances, 1))
