"""The Auto Scaling target from the service-time profile: mean streams in flight per instance at the busiest
per-instance load that still meets the SLO. infra sets the group's target-tracking policy on the service's own
`voicefleet_in_flight_requests` gauge (streams included) to this value at synth time; cost-estimate publishes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from cost.capacity.plan import Slo
from cost.capacity.simulate import Lengths, simulate
from voicefleet_config import EnvironmentConfig
from voicefleet_config.capacity import ServiceTime, gpu_of, service_time
from voicefleet_config.service import IN_FLIGHT_METRIC

METRIC = IN_FLIGHT_METRIC  # the service's gauge (service/metrics.py): requests and streams inside the engine
BISECTIONS = 12


@dataclass(frozen=True)
class ScalingTarget:
    metric: str
    target_in_flight: float  # mean streams in flight per instance to track
    max_rate_rps: float  # per-instance arrival rate at which the SLO still holds
    slots: int  # service.max_concurrency
    sized_for: str  # the instance type of the group that sets it (the slowest)


@lru_cache(maxsize=256)
def max_rate(st: ServiceTime, slots: int, lengths: Lengths, slo: Slo) -> tuple[float, float]:
    """(rate, mean streams in flight): the busiest per-instance arrival rate that meets the SLO (bisection)."""
    ok = simulate(st, 1e-4, slots, lengths)
    if not ok.meets(ttfa_s=slo.ttfa_s, rtf_max=slo.rtf_max, clip_s=slo.clip_s):
        return 0.0, 0.0
    mean_audio = lengths.avg_chars / lengths.chars_per_audio_s
    lo, hi = 1e-4, slots / st.rtf(slots) / mean_audio  # at hi every slot is busy all the time
    best = ok
    for _ in range(BISECTIONS):
        mid = (lo + hi) / 2
        result = simulate(st, mid, slots, lengths)
        if result.meets(ttfa_s=slo.ttfa_s, rtf_max=slo.rtf_max, clip_s=slo.clip_s):
            lo, best = mid, result
        else:
            hi = mid
    return lo, best.mean_in_flight


def scaling_target(env: EnvironmentConfig, *, engine_option: str = "pytorch") -> ScalingTarget:
    """The target for the environment's group: its slowest type at its configured slots."""
    from cost.sizing import lengths_of, slo_of  # sizing imports the estimator's types lazily
    from cost.workload import demand

    need = demand(env.workload, env.service, env.schedule.open_hours)
    lengths = lengths_of(env, need.p95_chars)
    slo = slo_of(env)
    precision = "fp16" if env.service.fp16 else "fp32"
    slots = env.service.max_concurrency
    found = []
    for itype in env.fleet.instance_types:
        st = service_time(gpu_of(itype), engine_option=engine_option, precision=precision)
        rate, in_flight = max_rate(st, slots, lengths, slo)
        found.append((rate, in_flight, itype))
    rate, in_flight, itype = min(found)
    # Never below 0.1 stream: a target-tracking value of 0 would keep scaling out.
    return ScalingTarget(METRIC, round(max(in_flight, 0.1), 2), round(rate, 5), slots, itype)
