"""The typed result of one estimate: what cost/report.py renders, the CLI and the chart draw, and infra/budget.py
reads. `EstimateReport.to_json()` is the `--format json` document (docs/cost.md); figures are rounded as shown."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Purchase = Literal["on-demand", "spot", "mix"]
Precision = Literal["fp16", "fp32"]


def money(value: float | None, digits: int = 2) -> float | None:
    """Rounded for the report; None (no price) stays None, never 0."""
    return None if value is None else round(value, digits)


@dataclass(frozen=True)
class Monthly:
    """USD per month by component. `compute` and `total` are None when the option has no price, never $0."""

    compute: float | None
    storage: float
    egress: float
    network: float
    other: float
    total: float | None

    def rounded(self) -> Monthly:
        return Monthly(
            compute=money(self.compute),
            storage=round(self.storage, 2),
            egress=round(self.egress, 2),
            network=round(self.network, 2),
            other=round(self.other, 2),
            total=money(self.total),
        )


# The components a bill is made of, in the order tables and charts show them.
COMPONENTS: tuple[str, ...] = ("compute", "storage", "egress", "network", "other")


@dataclass(frozen=True)
class OptionSummary:
    """One (instance type x purchase) as reported: rounded figures, and why it is not feasible when it is not."""

    instance_type: str
    gpu: str
    gpu_memory_gib: float
    purchase: Purchase
    feasible: bool
    reasons: tuple[str, ...]
    hourly_price: float | None
    instances: int
    concurrency_per_gpu: int
    latency_p95_s: float | None
    monthly: Monthly
    cost_per_1k_requests: float | None
    cost_per_audio_hour: float | None
    throughput_source: str
    price_source: str
    interruption_bucket: str | None
    interruption_source: str | None

    @property
    def priced(self) -> bool:
        return self.monthly.total is not None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Alternative:
    """A cheaper option that misses only the latency target, priced against the target it does meet."""

    instance_type: str
    purchase: Purchase
    instances: int
    monthly_total: float
    latency_p95_s: float
    meets_target_s: int
    why: str


@dataclass(frozen=True)
class Recommendation:
    """The cheapest feasible option (`instance_type` None: nothing meets the target, only the alternative)."""

    instance_type: str | None
    purchase: Purchase | None
    monthly_total: float | None
    why: str
    alternative: Alternative | None
    same_fleet_on_demand_24x7: float | None = None
    saving: float | None = None
    # Present only when the reference type has a price in the region.
    reference_g5_xlarge_on_demand_24x7: float | None = None
    ratio_to_reference: float | None = None

    def to_json(self) -> dict[str, Any]:
        alternative = asdict(self.alternative) if self.alternative is not None else None
        head: dict[str, Any] = {
            "instance_type": self.instance_type,
            "purchase": self.purchase,
            "monthly_total": self.monthly_total,
            "why": self.why,
        }
        if self.instance_type is None:
            return {**head, "alternative": alternative}
        out = {
            **head,
            "same_fleet_on_demand_24x7": self.same_fleet_on_demand_24x7,
            "saving": self.saving,
            "alternative": alternative,
        }
        if self.reference_g5_xlarge_on_demand_24x7 is not None:
            out["reference_g5_xlarge_on_demand_24x7"] = self.reference_g5_xlarge_on_demand_24x7
            out["ratio_to_reference"] = self.ratio_to_reference
        return out


@dataclass(frozen=True)
class CatalogInfo:
    source: str
    as_of: str
    region: str


@dataclass(frozen=True)
class P95Request:
    chars: float
    audio_s: float
    basis: str


@dataclass(frozen=True)
class EstimateReport:
    """Every option priced for one environment's workload (priced, feasible, cheapest first) and the recommendation."""

    environment: str
    catalog: CatalogInfo
    hours_per_month: float
    hours_basis: str
    workdays: float
    requests_per_month: float
    precision: Precision
    p95_request: P95Request
    notes: tuple[str, ...]
    options: tuple[OptionSummary, ...]
    recommendation: Recommendation | None

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "catalog": asdict(self.catalog),
            "hours_per_month": self.hours_per_month,
            "hours_basis": self.hours_basis,
            "workdays": self.workdays,
            "requests_per_month": self.requests_per_month,
            "precision": self.precision,
            "p95_request": asdict(self.p95_request),
            "notes": list(self.notes),
            "options": [o.to_json() for o in self.options],
            "recommendation": self.recommendation.to_json() if self.recommendation is not None else None,
        }
