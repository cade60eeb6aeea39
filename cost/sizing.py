"""How many instances of one type meet the SLO in each open hour: the service-time profile, the admission slots it
allows, GPU memory, and the queue simulation's hourly plan (with and without one spare instance)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cost.capacity.plan import Plan, Slo, plan
from cost.capacity.simulate import Lengths
from cost.catalog import model_value
from cost.workload import chars_per_second
from voicefleet_config import EnvironmentConfig
from voicefleet_config.capacity import ServiceTime, gpu_of, service_time

if TYPE_CHECKING:
    from cost.estimator import Scenario


@dataclass(frozen=True)
class Sizing:
    service_time: ServiceTime
    slots: int  # admission slots (service.max_concurrency) on this type
    plan: Plan
    spare: Plan  # the same hours with one spare instance
    reasons: tuple[str, ...]  # why it cannot meet the SLO (empty: it can, in every hour)

    @property
    def feasible(self) -> bool:
        return not self.reasons


def slo_of(env: EnvironmentConfig) -> Slo:
    wl = env.workload
    return Slo(ttfa_s=wl.ttfa_p95_s, rtf_max=wl.stream_rtf_max, clip_s=wl.latency_p95_s)


def lengths_of(env: EnvironmentConfig, p95_chars: float) -> Lengths:
    wl = env.workload
    return Lengths(
        avg_chars=wl.avg_chars,
        p95_chars=p95_chars,
        max_chars=float(env.service.max_text_chars),
        chars_per_audio_s=chars_per_second(wl.language),
    )


def memory_gib(fp16: bool, streams: int) -> float:
    table = model_value("model_memory_gib")
    return float(table["fp16" if fp16 else "fp32"]) + streams * float(model_value("per_stream_memory_gib"))


def size(scenario: Scenario, itype: str, *, own_fleet: bool, gpu_memory_gib: float, p95_chars: float) -> Sizing:
    """Size `itype` for the scenario. The environment's own fleet runs the slots its config sets (derived from the
    profile for its slowest type unless cdk.json sets them); a catalog type runs what the profile allows on it."""
    env = scenario.env
    slo = slo_of(env)
    precision = "fp16" if scenario.fp16 else "fp32"
    st = service_time(gpu_of(itype), engine_option=scenario.engine_option, precision=precision, extra=scenario.profiles)
    allowed = st.streams(ttfa_s=slo.ttfa_s, rtf_max=slo.rtf_max)
    slots = env.service.max_concurrency if own_fleet else max(allowed, 1)
    reasons: list[str] = []
    if allowed < 1:
        reasons.append(
            f"one stream alone misses the SLO on {st.gpu}: first chunk {st.first_chunk_s(1):.2f} s "
            f"(target {slo.ttfa_s:g} s), per-stream RTF {st.rtf(1):.2f} (must be < {slo.rtf_max:g})"
        )
    elif slots > allowed:
        reasons.append(
            f"service.max_concurrency {slots} is above the {allowed} stream(s) {st.gpu} serves within the SLO "
            f"(per-stream RTF {st.rtf(slots):.2f} at {slots})"
        )
    usable = gpu_memory_gib * float(model_value("gpu_memory_headroom"))
    needed = memory_gib(scenario.fp16, slots)
    if needed > usable:
        reasons.append(f"needs {needed:.1f} GiB GPU memory at {slots} streams, {usable:.1f} GiB usable")
    wl = env.workload
    lengths = lengths_of(env, p95_chars)
    args = {
        "slots": slots,
        "lengths": lengths,
        "slo": slo,
        "requests_per_day": wl.requests_per_business_day,
        "open_hours": scenario.hours.open_hours_per_day,
        "peak_factor": wl.peak_factor,
        "shape": wl.hourly_shape,
    }
    hourly = plan(st, **args)  # type: ignore[arg-type]
    spare = plan(st, **args, spare=1)  # type: ignore[arg-type]
    if not reasons and not hourly.feasible:
        worst = hourly.peak
        reasons.append(
            f"no fleet of up to 64 instances meets the SLO at {worst.rate_rps:.3f} requests/s ({slo.text()})"
        )
    return Sizing(st, slots, hourly, spare, tuple(reasons))
