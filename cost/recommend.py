"""The recommendation: the cheapest feasible option, and the cheapest one that misses only the latency target.

The alternative answers "what would a slightly slower p95 buy me?": an option that fits memory and has a price but
misses the p95 target is priced again against the target it does meet (its estimated p95 rounded up to whole
seconds), and reported when it is cheaper than the recommendation (or when nothing meets the target).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from cost.result import Alternative, Purchase, Recommendation
from cost.schedule import ALWAYS_ON_HOURS

if TYPE_CHECKING:
    from cost.estimator import Option
    from cost.workload import Demand

# (instance type, purchase, hours override, latency target override) -> the option priced again
Reprice = Callable[[str, Purchase, float | None, float | None], "Option"]
REFERENCE_TYPE = "g5.xlarge"


def _total(option: Option) -> float:
    total = option.total
    assert total is not None, "only priced options are recommended"
    return total


def _alternative(
    options: Sequence[Option], *, target_s: float, need: Demand, reprice: Reprice, best_total: float | None
) -> Alternative | None:
    relaxed: list[tuple[Option, Option, int]] = []
    for option in options:
        if not option.misses_latency_only:
            continue
        assert option.capacity is not None
        met = math.ceil(option.capacity.latency_p95_s)
        again = reprice(option.instance_type, option.purchase, None, float(met))
        if again.feasible and again.priced:
            relaxed.append((option, again, met))
    if not relaxed:
        return None
    _, alt, met = min(relaxed, key=lambda r: _total(r[1]))
    total = _total(alt)
    if best_total is not None and total >= best_total:
        return None  # slower and not cheaper: no reason to consider it
    cap = alt.capacity
    assert cap is not None
    versus = (
        f"${best_total - total:,.2f}/month less than the recommendation"
        if best_total is not None
        else "no option meets the target"
    )
    why = (
        f"{alt.instances} x {alt.instance_type} ({alt.purchase}) at ${total:,.2f}/month would meet a {met} s p95 "
        f"target ({versus}); it misses only the {target_s:g} s target: est. p95 {cap.latency_p95_s:.1f} s at "
        f"{cap.concurrency} stream(s) per GPU for the p95 request of {need.p95_request()}"
    )
    return Alternative(
        instance_type=alt.instance_type,
        purchase=alt.purchase,
        instances=alt.instances,
        monthly_total=round(total, 2),
        latency_p95_s=round(cap.latency_p95_s, 2),
        meets_target_s=met,
        why=why,
    )


def recommend(options: Sequence[Option], *, target_s: float, need: Demand, reprice: Reprice) -> Recommendation | None:
    """`options` sorted by `Option.sort_key`. None only when nothing is feasible and there is no alternative."""
    feasible = [o for o in options if o.feasible]
    best = feasible[0] if feasible else None
    alternative = _alternative(
        options, target_s=target_s, need=need, reprice=reprice, best_total=_total(best) if best else None
    )
    if best is None:
        if alternative is None:
            return None
        return Recommendation(
            instance_type=None,
            purchase=None,
            monthly_total=None,
            why=f"no option meets the {target_s:g} s p95 target for the p95 request of {need.p95_request()}",
            alternative=alternative,
        )
    best_total = _total(best)
    always = reprice(best.instance_type, "on-demand", ALWAYS_ON_HOURS, None)
    always_total = _total(always)
    saving = always_total - best_total
    cap = best.capacity
    assert cap is not None
    why = (
        f"cheapest option that meets the {target_s:g} s p95 target: "
        f"{best.instances} x {best.instance_type} ({best.purchase}) at {cap.concurrency} stream(s) per GPU, "
        f"est. p95 {cap.latency_p95_s:.1f} s for the p95 request of {need.p95_request()}; "
        f"saves ${saving:,.2f}/month ({saving / always_total:.0%}) against the same fleet on-demand 24/7 "
        f"(${always_total:,.2f})"
    )
    reference = reprice(REFERENCE_TYPE, "on-demand", ALWAYS_ON_HOURS, None).total
    return Recommendation(
        instance_type=best.instance_type,
        purchase=best.purchase,
        monthly_total=round(best_total, 2),
        why=why,
        alternative=alternative,
        same_fleet_on_demand_24x7=round(always_total, 2),
        saving=round(saving, 2),
        reference_g5_xlarge_on_demand_24x7=None if reference is None else round(reference, 2),
        ratio_to_reference=None if reference is None else round(best_total / reference, 3),
    )
