"""The monthly compute of an hourly fleet, and Spot interruptions as the group has them (capacity gaps)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cost.capacity.plan import Plan
from cost.result import Purchase, SpotRisk
from cost.schedule import ALWAYS_ON_HOURS
from cost.sizing import slo_of
from cost.spot import fallback_share, mix_counts
from voicefleet_config import EnvironmentConfig

if TYPE_CHECKING:
    from cost.estimator import Scenario


def _mix_counts(purchase: Purchase, n: int, env: EnvironmentConfig) -> tuple[float, float]:
    """(on-demand, spot) of `n` running instances: all of one kind, or the group's base/percentage rule."""
    if purchase == "on-demand":
        return float(n), 0.0
    if purchase == "spot":
        return 0.0, float(n)
    return mix_counts(n, env.fleet.on_demand_base_capacity, env.fleet.on_demand_percentage_above_base)


@dataclass(frozen=True)
class _Compute:
    cost: float | None
    instance_hours: float
    spot_hours: float


def compute_for(scenario: Scenario, plan: Plan, purchase: Purchase, od: float | None, sp: float | None) -> _Compute:
    """Compute for the month following the hourly fleet: each open hour's instances, the opening fleet's warm-up,
    and each scale-out launched one boot time ahead of its hour (the fleet must be ready when the load comes)."""
    env, hours = scenario.env, scenario.hours
    floor = max(env.fleet.min_capacity, 1)
    counts = [max(h.instances or 0, floor) for h in plan.hours]
    day: list[tuple[int, float]] = list(zip(counts, plan.fractions, strict=True))
    if counts:
        day.append((counts[0], env.schedule.warmup / 60))
        boot = env.fleet.boot_minutes / 60
        day += [(b - a, boot) for a, b in itertools.pairwise(counts) if b > a]
    od_hours = spot_hours = 0.0
    for n, h in day:
        n_od, n_sp = _mix_counts(purchase, n, env)
        od_hours += n_od * h * hours.workdays
        spot_hours += n_sp * h * hours.workdays
    if hours.basis.startswith("always on"):
        # 24/7: the floor runs through the closed hours too.
        closed = max(0.0, ALWAYS_ON_HOURS - hours.workdays * (hours.open_hours_per_day + env.schedule.warmup / 60))
        n_od, n_sp = _mix_counts(purchase, floor, env)
        od_hours += n_od * closed
        spot_hours += n_sp * closed
    cost = None
    if od is not None and (sp is not None or spot_hours == 0):
        cost = od_hours * od + spot_hours * (sp or 0.0)
    return _Compute(cost, od_hours + spot_hours, spot_hours)


def spot_risk(scenario: Scenario, plan: Plan, purchase: Purchase, bucket: str) -> SpotRisk:
    """Interruptions as the group really has them: the bucket is the share of Spot instances interrupted per month;
    each leaves its hour one instance short for the replacement's boot time (fleet.boot_minutes)."""
    env, hours = scenario.env, scenario.hours
    share = fallback_share(bucket)
    boot = env.fleet.boot_minutes
    expected = breach_minutes = 0.0
    for hour, fraction in zip(plan.hours, plan.fractions, strict=True):
        n = hour.instances or 0
        spot_n = _mix_counts(purchase, n, env)[1]
        events = spot_n * fraction * hours.workdays / ALWAYS_ON_HOURS * share
        expected += events
        short = hour.short_one
        slo = slo_of(env)
        breaks = n <= 1 or short is None or not short.meets(ttfa_s=slo.ttfa_s, rtf_max=slo.rtf_max, clip_s=slo.clip_s)
        if breaks:
            breach_minutes += events * min(boot, 60 * fraction + boot)
    open_minutes = hours.workdays * hours.open_hours_per_day * 60
    return SpotRisk(
        bucket=bucket,
        interrupted_share_per_month=share,
        expected_interruptions_per_month=round(expected, 3),
        replacement_gap_minutes=boot,
        slo_breach_minutes_per_month=round(breach_minutes, 1),
        slo_breach_share_of_open_time=round(breach_minutes / open_minutes, 5) if open_minutes else 0.0,
    )
