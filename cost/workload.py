"""Workload -> audio seconds of the average and the p95 request, and the peak arrival rate."""

from __future__ import annotations

from dataclasses import dataclass

from cost.catalog import model_value
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
