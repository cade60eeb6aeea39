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
class SpotRisk:
    """Spot as the group behaves: interruptions are capacity gaps of one boot time, not on-demand hours."""

    bucket: str
    interrupted_share_per_month: float  # share of Spot instances interrupted in a month (the advisor's bucket)
    expected_interruptions_per_month: float
    replacement_gap_minutes: int  # fleet.boot_minutes: launch -> ready of the replacement
    slo_breach_minutes_per_month: float  # gaps that fall in an hour whose fleet minus one misses the SLO
    slo_breach_share_of_open_time: float


@dataclass(frozen=True)
class SpareSummary:
    """The same option with one spare instance in every open hour (an interruption then leaves the SLO intact)."""

    instances: int  # at peak
    monthly_total: float | None
    ttfa_p95_s: float | None  # at peak


@dataclass(frozen=True)
class OptionSummary:
    """One (instance type x purchase) as reported: rounded figures, and why it is not feasible when it is not."""

    instance_type: str
    gpu: str
    gpu_memory_gib: float
    purchase: Purchase
    source: str  # "environment": what cdk deploy launches; "catalog": an alternative (see cdk_json_change)
    cdk_json_change: dict[str, Any] | None
    feasible: bool
    reasons: tuple[str, ...]
    above_max_capacity: bool
    hourly_price: float | None
    instances: int  # at the peak hour
    hourly_instances: tuple[int | None, ...]  # per open hour (None: no fleet meets the SLO that hour)
    concurrency_per_gpu: int  # admission slots, service.max_concurrency
    ttfa_p95_s: float | None  # p95 time to first audio at the peak hour, queueing included
    latency_p95_s: float | None  # whole-clip p95 at the peak hour, queueing included
    stream_rtf: float  # per-stream RTF with every slot busy
    mean_streams_in_flight_at_peak: float | None
    monthly: Monthly
    cost_per_1k_requests: float | None
    cost_per_audio_hour: float | None
    throughput_source: str
    price_source: str
    interruption_bucket: str | None
    interruption_source: str | None
    spot_risk: SpotRisk | None
    with_one_spare: SpareSummary

    @property
    def priced(self) -> bool:
        return self.monthly.total is not None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["reasons"] = list(self.reasons)
        out["hourly_instances"] = list(self.hourly_instances)
        return out


@dataclass(frozen=True)
class Recommendation:
    """The option to deploy: the environment's own fleet when it meets the SLO within fleet.max_capacity, else the
    cheapest alternative that does (with the cdk.json change); `instance_type` None: nothing meets the SLO."""

    instance_type: str | None
    purchase: Purchase | None
    source: str | None
    instances: int | None  # at peak
    monthly_total: float | None
    ttfa_p95_s: float | None  # at peak
    why: str
    cdk_json_change: dict[str, Any] | None = None
    with_one_spare: SpareSummary | None = None
    same_fleet_on_demand_24x7: float | None = None
    saving: float | None = None
    # The seed's baseline: one g5.xlarge on-demand 24/7, compute only (None: no price in the region).
    reference_g5_xlarge_on_demand_24x7: float | None = None
    ratio_to_reference: float | None = None
    spare_ratio_to_reference: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


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
class SloSummary:
    ttfa_p95_s: float
    stream_rtf_max: float
    latency_p95_s: float | None  # whole clip (optional target)


@dataclass(frozen=True)
class ServiceContract:
    """What the synthesized template and the service settings carry for the environment's own fleet (a contract test
    reads all three): admission slots, and the Auto Scaling target on the service's own metric."""

    max_concurrency: int
    scaling_metric: str
    scaling_target_in_flight: float
    max_rate_per_instance_rps: float
    sized_for: str


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
    slo: SloSummary
    engine_option: str
    hourly_load_rps: tuple[float, ...]  # arrival rate per open hour (the load profile the fleet follows)
    service: ServiceContract | None
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
            "slo": asdict(self.slo),
            "engine_option": self.engine_option,
            "hourly_load_rps": list(self.hourly_load_rps),
            "service": asdict(self.service) if self.service is not None else None,
            "notes": list(self.notes),
            "options": [o.to_json() for o in self.options],
            "recommendation": self.recommendation.to_json() if self.recommendation is not None else None,
        }
