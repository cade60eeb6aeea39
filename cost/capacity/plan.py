"""The smallest fleet that meets the SLO in each hour of an hourly load profile, from the queue simulation.

The hourly profile (default): the business-hours shape. The workload gives a day's requests, the open hours and a
peak factor (peak hour's rate / the open hours' mean rate); two peak hours (opening + 1 h and opening + 5 h: late
morning and mid-afternoon) carry peak_factor x the mean and the other open hours share the rest equally. With
`workload.hourly_shape` (one weight per open hour) that shape is used instead, scaled to the day's requests.
Requests reach the instances evenly (the ALB spreads them), so one instance at rate / n is simulated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cost.capacity.simulate import Lengths, SimResult, simulate
from cost.errors import CostInputError
from voicefleet_config.capacity import ServiceTime

MAX_SEARCH = 64  # instances tried per hour before declaring the hour unmeetable
PEAK_HOURS_AFTER_OPENING = (1, 5)


@dataclass(frozen=True)
class Slo:
    """What users feel: p95 time to first audio (queueing included), per-stream RTF below `rtf_max`; optional
    whole-clip p95 for clients that wait for the whole file."""

    ttfa_s: float
    rtf_max: float
    clip_s: float | None = None

    def text(self) -> str:
        clip = f", whole clip p95 <= {self.clip_s:g} s" if self.clip_s is not None else ""
        return f"p95 time to first audio <= {self.ttfa_s:g} s, per-stream RTF < {self.rtf_max:g}{clip}"


def hourly_shape(open_hours: float, peak_factor: float, shape: tuple[float, ...] | None = None) -> tuple[float, ...]:
    """Weights per open hour (the last one partial when the hours are not whole), mean 1 over the open time."""
    hours = max(1, math.ceil(open_hours - 1e-9))
    fractions = [1.0] * hours
    if hours > open_hours:
        fractions[-1] = open_hours - (hours - 1)
    if shape is not None:
        if len(shape) != hours:
            raise CostInputError(f"workload.hourly_shape has {len(shape)} weights for {hours} open hours")
        raw = list(shape)
    else:
        peaks = [h for h in PEAK_HOURS_AFTER_OPENING if h < hours] or [0]
        while peaks and len(peaks) * peak_factor > open_hours:
            peaks.pop()  # fewer peak hours when the day cannot hold two at that factor
        if not peaks:
            raise CostInputError(
                f"peak factor {peak_factor:g} is above the {open_hours:g} open hours: one hour cannot carry more "
                "than the whole day"
            )
        rest = (open_hours - len(peaks) * peak_factor) / max(open_hours - len(peaks), 1e-9)
        raw = [peak_factor if h in peaks else rest for h in range(hours)]
    weighted = sum(w * f for w, f in zip(raw, fractions, strict=True))
    if weighted <= 0:
        raise CostInputError("workload.hourly_shape has no positive weight")
    return tuple(w * open_hours / weighted for w in raw)


@dataclass(frozen=True)
class Hour:
    index: int  # open hour (0 = the first after opening)
    rate_rps: float
    instances: int | None  # None: no fleet up to MAX_SEARCH (or the GPU cannot serve one stream) meets the SLO
    result: SimResult | None  # at `instances`
    short_one: SimResult | None  # at `instances - 1` (an interruption's replacement gap), None when it is 1


@dataclass(frozen=True)
class Plan:
    hours: tuple[Hour, ...]
    slots: int
    fractions: tuple[float, ...]

    @property
    def feasible(self) -> bool:
        return bool(self.hours) and all(h.instances is not None for h in self.hours)

    @property
    def peak(self) -> Hour:
        return max(self.hours, key=lambda h: (h.rate_rps, h.instances or 0))

    @property
    def peak_instances(self) -> int:
        return max((h.instances or 0) for h in self.hours)

    def instance_hours_per_day(self, *, spare: int = 0, minimum: int = 0) -> float:
        return sum(
            max((h.instances or 0) + spare, minimum) * f for h, f in zip(self.hours, self.fractions, strict=True)
        )


def smallest_fleet(
    st: ServiceTime, rate: float, slots: int, lengths: Lengths, slo: Slo, *, start: int = 1
) -> tuple[int, SimResult] | None:
    """The fewest instances (from `start`) at which one instance at rate / n meets the SLO."""
    if slots < 1 or rate <= 0:
        return None if slots < 1 else (max(start, 1), simulate(st, 0.0, slots, lengths))
    mean_audio = lengths.avg_chars / lengths.chars_per_audio_s
    capacity = slots / st.rtf(slots)  # audio seconds per second one instance makes with every slot busy
    lo = max(start, 1, math.ceil(rate * mean_audio / capacity))  # below this the queue grows without bound

    def ok(n: int) -> SimResult | None:
        result = simulate(st, rate / n, slots, lengths)
        return result if result.meets(ttfa_s=slo.ttfa_s, rtf_max=slo.rtf_max, clip_s=slo.clip_s) else None

    # Fewer instances never help (the same seeded arrivals, only denser): gallop up, then bisect.
    found = ok(lo)
    if found is not None:
        return lo, found
    hi = lo
    hit: SimResult | None = None
    while hit is None:
        lo, hi = hi, min(hi * 2, MAX_SEARCH)
        hit = ok(hi)
        if hit is None and hi == MAX_SEARCH:
            return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        result = ok(mid)
        if result is None:
            lo = mid
        else:
            hi, hit = mid, result
    return hi, hit


def plan(
    st: ServiceTime,
    *,
    slots: int,
    lengths: Lengths,
    slo: Slo,
    requests_per_day: float,
    open_hours: float,
    peak_factor: float,
    shape: tuple[float, ...] | None = None,
    spare: int = 0,
) -> Plan:
    weights = hourly_shape(open_hours, peak_factor, shape)
    mean_rate = requests_per_day / (open_hours * 3600) if open_hours else 0.0
    fractions = tuple(min(1.0, open_hours - h) for h in range(len(weights)))
    hours: list[Hour] = []
    for index, weight in enumerate(weights):
        rate = mean_rate * weight
        found = smallest_fleet(st, rate, slots, lengths, slo)
        if found is None:
            hours.append(Hour(index, rate, None, None, None))
            continue
        n, result = found
        n += spare
        if spare:
            result = simulate(st, rate / n, slots, lengths)
        short = simulate(st, rate / (n - 1), slots, lengths) if n > 1 else None
        hours.append(Hour(index, rate, n, result, short))
    return Plan(tuple(hours), slots, fractions)
