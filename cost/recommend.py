"""The recommendation: the environment's own fleet when it meets the SLO within fleet.max_capacity (what `cdk deploy`
launches, no change needed), else the cheapest catalog alternative that does, with the cdk.json change that selects
it; an option above fleet.max_capacity is recommended only when nothing within it meets the SLO, and says so."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cost.result import Recommendation
from cost.schedule import ALWAYS_ON_HOURS
from voicefleet_config import EnvironmentConfig

if TYPE_CHECKING:
    from cost.estimator import Option

REFERENCE_TYPE = "g5.xlarge"


def _pick(options: Sequence[Option]) -> Option | None:
    own = [o for o in options if o.source == "environment"]
    if own and all(o.feasible and o.priced and not o.above_max_capacity for o in own):
        # The group may launch any of its types: the fleet is only as good as its dearest one.
        return max(own, key=lambda o: o.total or 0.0)
    ok = [o for o in options if o.feasible and o.priced]
    return min(ok, key=lambda o: (o.above_max_capacity, o.total or 0.0)) if ok else None


def recommend(options: Sequence[Option], *, env: EnvironmentConfig, reference: float | None) -> Recommendation:
    best = _pick(options)
    slo = env.workload
    target = f"p95 time to first audio {slo.ttfa_p95_s:g} s, per-stream RTF < {slo.stream_rtf_max:g}" + (
        f", whole clip p95 {slo.latency_p95_s:g} s" if slo.latency_p95_s is not None else ""
    )
    if best is None:
        return Recommendation(
            instance_type=None,
            purchase=None,
            source=None,
            instances=None,
            monthly_total=None,
            ttfa_p95_s=None,
            why=f"no priced option meets the SLO ({target}): see each option's reasons",
        )
    total = best.total or 0.0
    summary = best.summary()
    peak = summary.instances
    always = peak * (best.on_demand_price or 0.0) * ALWAYS_ON_HOURS + (total - (best.monthly.compute or 0.0))
    where = (
        "the environment's own fleet (no cdk.json change)"
        if best.source == "environment"
        else f"a catalog alternative (cdk.json change: {best.cdk_json_change})"
    )
    hourly = ", ".join("-" if n is None else str(n) for n in summary.hourly_instances)
    why = (
        f"{where}: {best.instance_type} ({best.purchase}) meets {target} in every open hour with "
        f"{summary.concurrency_per_gpu} stream(s) per GPU; fleet per open hour {hourly} (peak {peak}); "
        f"p95 time to first audio at peak {summary.ttfa_p95_s} s"
    )
    cheaper = [o for o in options if o.feasible and o.priced and (o.total or 0.0) < total and o is not best]
    if cheaper:
        alt = min(cheaper, key=lambda o: o.total or 0.0)
        change = (
            f"cdk.json change: {alt.cdk_json_change}"
            if alt.cdk_json_change
            # A type the group already lists: the group may launch any of them, so only listing it alone selects it.
            else f'cdk.json change: fleet.instance_types ["{alt.instance_type}"] alone'
        )
        why += f"; cheapest alternative: {alt.instance_type} ({alt.purchase}) at ${alt.total:,.2f}/month ({change})"
    if best.above_max_capacity:
        why += f"; needs {peak} instances at peak, above fleet.max_capacity {env.fleet.max_capacity} (raise it)"
    spare = summary.with_one_spare
    return Recommendation(
        instance_type=best.instance_type,
        purchase=best.purchase,
        source=best.source,
        instances=peak,
        monthly_total=round(total, 2),
        ttfa_p95_s=summary.ttfa_p95_s,
        why=why,
        cdk_json_change=best.cdk_json_change,
        with_one_spare=spare,
        same_fleet_on_demand_24x7=round(always, 2),
        saving=round(always - total, 2),
        reference_g5_xlarge_on_demand_24x7=None if reference is None else round(reference, 2),
        ratio_to_reference=None if reference is None else round(total / reference, 3),
        spare_ratio_to_reference=(
            None if reference is None or spare.monthly_total is None else round(spare.monthly_total / reference, 3)
        ),
    )
