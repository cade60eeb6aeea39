"""Spot purchase maths: the interruption bucket (how often a Spot instance is reclaimed), ASG on-demand/Spot mixes.

The bucket for a type comes, first match wins, from --live's Spot Instance Advisor file, from the catalog
(`instances.json` `interruption`, per region), or from model.json's default bucket. The default is an assumption and
is always reported as one (`Interruption.measured` is False), never as a measured figure.
"""

from __future__ import annotations

from collections.abc import Mapping

from cost.catalog import Interruption, default_interruption, instance, interruption_buckets


def fallback_share(bucket: str | None = None) -> float:
    """Share of Spot instances interrupted in a month for an interruption bucket (its midpoint; default: the default
    bucket, an assumption). Not an on-demand share: the group buys on-demand only where its base/percentage say."""
    return interruption_buckets()[bucket or default_interruption().bucket]


def mix_counts(instances: int, base: int, pct_above_base: int) -> tuple[float, float]:
    """(on-demand, spot) instance counts of an ASG mixed-instances policy for `instances` running."""
    on_demand = min(instances, base) + max(0, instances - base) * pct_above_base / 100
    return on_demand, instances - on_demand


def interruption(live: Mapping[str, Interruption], itype: str, region: str) -> Interruption:
    """`itype`'s bucket in `region`: the live (Spot Instance Advisor) figure, else the catalog's, else the default."""
    found = live.get(itype)
    if found is not None:
        return found
    return instance(itype).interruption.get(region) or default_interruption()


def interruption_source(risk: Interruption, spot: float, on_demand: float) -> str:
    """Where the bucket comes from; for an advisor figure, its savings next to the discount actually priced."""
    if not risk.measured:
        return risk.source
    text = f"{risk.source} ({risk.as_of})" + ("" if risk.verified else ", unverified")
    if risk.savings_pct is not None and on_demand > 0:
        text += f"; advisor savings {risk.savings_pct:.0f}% vs the {1 - spot / on_demand:.0%} discount priced here"
    return text


def basis(risk: Interruption) -> str:
    return "per-type figure" if risk.measured else "default assumption, not measured"


def spot_counts(instances: int, base: int, pct_above_base: int) -> float:
    """Spot instances of `instances` running under the group's on-demand base and percentage above base."""
    return mix_counts(instances, base, pct_above_base)[1]


def group_purchase(base: int, pct_above_base: int) -> str:
    """What the group buys: Spot only (base 0, 0 % above), on-demand only (100 % above base), else a mix."""
    if pct_above_base >= 100:
        return "on-demand"
    if base == 0 and pct_above_base == 0:
        return "spot"
    return "mix"
