"""Size (queue simulation per open hour) and price the environment's own fleet and every catalog alternative for
one environment's workload, and pick the cheapest that meets the SLO."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from cost.capacity.scaling import scaling_target
from cost.catalog import Interruption, Price, instance, snapshot_meta
from cost.fixed_costs import fixed_costs, requests_per_month
from cost.hourly_bill import compute_for, spot_risk
from cost.recommend import REFERENCE_TYPE, recommend
from cost.result import (
    CatalogInfo,
    EstimateReport,
    Monthly,
    OptionSummary,
    P95Request,
    Purchase,
    ServiceContract,
    SloSummary,
    SpareSummary,
    SpotRisk,
    money,
)
from cost.schedule import ALWAYS_ON_HOURS, MonthHours
from cost.sizing import Sizing, size
from cost.spot import basis, group_purchase, interruption, interruption_source
from cost.workload import Demand, demand
from voicefleet_config import EnvironmentConfig
from voicefleet_config.capacity import ServiceTime


@dataclass(frozen=True)
class Deployment:
    """What is deployed around the fleet (from the config, or from a synthesized template)."""

    albs: int = 1
    public_albs: int = 0  # internet-facing ones (public IPv4 per AZ); the stack's ALB is internal
    nat_gateways: int | None = None  # None: from env.network (one when nat is on, as the VPC gets)
    alarms: int | None = None  # None: the model's default count
    web_acls: int | None = None  # None: from env.cdn.waf (one web ACL when enabled)
    waf_rules: int | None = None  # None: from env.cdn.waf.rules
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    env: EnvironmentConfig
    hours: MonthHours
    purchases: tuple[Purchase, ...]
    instance_types: tuple[str, ...]
    fp16: bool
    profiles: tuple[ServiceTime, ...] = ()  # explicit --profile entries (win over shipped ones and the prior)
    engine_option: str = "pytorch"  # what the service runs today; trt/vllm priced on request (--engine-option)
    deployment: Deployment = Deployment()
    prices: dict[str, dict[str, Price]] = field(
        default_factory=dict
    )  # live overlay: {"on_demand"/"spot": {type: Price}}
    interruption: dict[str, Interruption] = field(default_factory=dict)  # live overlay: Spot Instance Advisor buckets
    catalog_source: str = ""
    catalog_as_of: str = ""


@dataclass(frozen=True)
class Option:
    """One (instance type x purchase) sized by the queue simulation and priced for the scenario. A missing price is
    None, never $0: `hourly_price`, `monthly.compute`, `monthly.total` and the per-unit costs are then None and the
    option is not feasible."""

    instance_type: str
    gpu: str
    gpu_memory_gib: float
    purchase: Purchase
    source: str  # "environment" (what cdk deploy launches) or "catalog" (an alternative)
    cdk_json_change: dict[str, object] | None
    feasible: bool
    reasons: tuple[str, ...]
    above_max_capacity: bool
    hourly_price: float | None  # average $/h per instance over the month
    on_demand_price: float | None
    sizing: Sizing
    monthly: Monthly
    cost_per_1k_requests: float | None
    cost_per_audio_hour: float | None
    price_source: str
    interruption_bucket: str | None = None
    interruption_source: str | None = None
    spot_risk: SpotRisk | None = None
    spare_total: float | None = None

    @property
    def priced(self) -> bool:
        return self.hourly_price is not None

    @property
    def total(self) -> float | None:
        return self.monthly.total

    @property
    def instances(self) -> int:
        return self.sizing.plan.peak_instances

    def sort_key(self) -> tuple[bool, bool, bool, float]:
        """Priced before unpriced, then feasible, then within fleet.max_capacity, then cheapest."""
        total = self.total if self.total is not None else 0.0
        return (not self.priced, not self.feasible, self.above_max_capacity, total)

    def summary(self) -> OptionSummary:
        """The option as reported, figures rounded."""
        sz = self.sizing
        peak = sz.plan.peak.result if sz.plan.feasible else None
        spare_peak = sz.spare.peak.result if sz.spare.feasible else None
        return OptionSummary(
            instance_type=self.instance_type,
            gpu=self.gpu,
            gpu_memory_gib=self.gpu_memory_gib,
            purchase=self.purchase,
            source=self.source,
            cdk_json_change=self.cdk_json_change,
            feasible=self.feasible,
            reasons=self.reasons,
            above_max_capacity=self.above_max_capacity,
            hourly_price=money(self.hourly_price, 5),
            instances=self.instances,
            hourly_instances=tuple(h.instances for h in sz.plan.hours),
            concurrency_per_gpu=sz.slots,
            ttfa_p95_s=round(peak.ttfa_p95_s, 2) if peak else None,
            latency_p95_s=round(peak.clip_p95_s, 2) if peak else None,
            stream_rtf=round(sz.service_time.rtf(sz.slots), 3),
            mean_streams_in_flight_at_peak=round(peak.mean_in_flight, 2) if peak else None,
            monthly=self.monthly.rounded(),
            cost_per_1k_requests=money(self.cost_per_1k_requests, 4),
            cost_per_audio_hour=money(self.cost_per_audio_hour, 4),
            throughput_source=sz.service_time.label(),
            price_source=self.price_source,
            interruption_bucket=self.interruption_bucket,
            interruption_source=self.interruption_source,
            spot_risk=self.spot_risk,
            with_one_spare=SpareSummary(
                instances=sz.spare.peak_instances,
                monthly_total=money(self.spare_total),
                ttfa_p95_s=round(spare_peak.ttfa_p95_s, 2) if spare_peak else None,
            ),
        )


def _price(scenario: Scenario, kind: str, itype: str) -> Price | None:
    live = scenario.prices.get(kind, {}).get(itype)
    if live is not None:
        return live
    table = instance(itype).on_demand if kind == "on_demand" else instance(itype).spot
    return table.get(scenario.env.region)


class _Prices(NamedTuple):
    on_demand: float | None
    spot: float | None
    why_not: str
    source: str
    bucket: str | None = None
    interruption_source: str | None = None


def _prices(scenario: Scenario, itype: str, purchase: Purchase) -> _Prices:
    """$/h on-demand and Spot for `itype` (Spot only when the purchase buys it), or why it cannot be priced. Spot is
    priced as Spot: the group has no on-demand fallback beyond its base and percentage."""
    region = scenario.env.region
    od = _price(scenario, "on_demand", itype)
    if od is None:
        why = instance(itype).missing.get(region, "not captured")
        return _Prices(None, None, f"{itype} on-demand in {region}: {why} in the price snapshot (try --live)", "")
    if purchase == "on-demand":
        return _Prices(od.usd_per_hour, None, "", f"{od.source} ({od.as_of})")
    sp = _price(scenario, "spot", itype)
    if sp is None:
        why = instance(itype).missing.get(region, "not captured")
        return _Prices(od.usd_per_hour, None, f"no Spot price for {itype} in {region}: {why} (try --live)", "")
    risk = interruption(scenario.interruption, itype, region)
    source = (
        f"{sp.source} ({sp.as_of}); Spot interruptions: {risk.bucket} of instances per month "
        f"({basis(risk)}), priced as capacity gaps, not as on-demand hours"
    )
    why = interruption_source(risk, sp.usd_per_hour, od.usd_per_hour)
    return _Prices(od.usd_per_hour, sp.usd_per_hour, "", source, risk.bucket, why)


def price_option(scenario: Scenario, itype: str, purchase: Purchase, *, source: str = "catalog") -> Option:
    env = scenario.env
    spec = instance(itype)
    need = scenario_demand(scenario)
    own = source == "environment"
    sizing = size(scenario, itype, own_fleet=own, gpu_memory_gib=spec.gpu_memory_gib, p95_chars=need.p95_chars)
    reasons = list(sizing.reasons)
    prices = _prices(scenario, itype, purchase)
    if prices.why_not:
        reasons.append(prices.why_not)
    peak = sizing.plan.peak_instances
    above = sizing.plan.feasible and peak > env.fleet.max_capacity
    if above and own:
        # The group as deployed stops at max_capacity: it cannot hold the SLO at peak. (An alternative is flagged
        # and its cdk.json change raises the cap.)
        reasons.append(f"needs {peak} instances at peak, above fleet.max_capacity {env.fleet.max_capacity}")
    compute = compute_for(scenario, sizing.plan, purchase, prices.on_demand, prices.spot)
    spare = compute_for(scenario, sizing.spare, purchase, prices.on_demand, prices.spot)
    fixed = fixed_costs(scenario, compute.instance_hours, peak)
    spare_fixed = fixed_costs(scenario, spare.instance_hours, peak + 1)
    total = None if compute.cost is None else compute.cost + sum(fixed)
    spare_total = None if spare.cost is None else spare.cost + sum(spare_fixed)
    monthly = Monthly(compute.cost, fixed.storage, fixed.egress, fixed.network, fixed.other, total)
    reqs = requests_per_month(scenario)
    audio_hours = reqs * need.audio_s_avg / 3600
    risk = None
    if prices.bucket is not None and compute.spot_hours > 0 and sizing.plan.feasible:
        risk = spot_risk(scenario, sizing.plan, purchase, prices.bucket)
    change: dict[str, object] | None = None
    if not own:
        change = {"fleet.instance_types": [itype], **_purchase_change(purchase)}
        if sizing.plan.feasible and peak > env.fleet.max_capacity:
            change["fleet.max_capacity"] = peak
    hourly = None if compute.cost is None or not compute.instance_hours else compute.cost / compute.instance_hours
    return Option(
        instance_type=itype,
        gpu=spec.gpu,
        gpu_memory_gib=spec.gpu_memory_gib,
        purchase=purchase,
        source=source,
        cdk_json_change=change,
        feasible=not reasons,
        reasons=tuple(reasons),
        above_max_capacity=above,
        hourly_price=hourly,
        on_demand_price=prices.on_demand,
        sizing=sizing,
        monthly=monthly,
        cost_per_1k_requests=None if total is None else (total / (reqs / 1000) if reqs else 0.0),
        cost_per_audio_hour=None if total is None else (total / audio_hours if audio_hours else 0.0),
        price_source=prices.source,
        interruption_bucket=prices.bucket,
        interruption_source=prices.interruption_source,
        spot_risk=risk,
        spare_total=spare_total,
    )


def _purchase_change(purchase: Purchase) -> dict[str, object]:
    if purchase == "on-demand":
        return {"fleet.on_demand_percentage_above_base": 100}
    if purchase == "spot":
        return {"fleet.on_demand_base_capacity": 0, "fleet.on_demand_percentage_above_base": 0}
    return {}


def scenario_demand(scenario: Scenario) -> Demand:
    return demand(scenario.env.workload, scenario.env.service, scenario.hours.open_hours_per_day)


def options(scenario: Scenario) -> list[Option]:
    """The environment's own fleet first (each of its types, bought as its group buys), then every catalog
    alternative (type x purchase) that is not the environment's own configuration."""
    env = scenario.env
    own_purchase: Purchase = group_purchase(  # type: ignore[assignment]
        env.fleet.on_demand_base_capacity, env.fleet.on_demand_percentage_above_base
    )
    own = [price_option(scenario, t, own_purchase, source="environment") for t in env.fleet.instance_types]
    alternatives = [
        price_option(scenario, t, p)
        for t in scenario.instance_types
        for p in scenario.purchases
        if not (t in env.fleet.instance_types and p == own_purchase) and p != "mix"
    ]
    alternatives.sort(key=Option.sort_key)
    return own + alternatives


def estimate(scenario: Scenario) -> EstimateReport:
    """The full report: the environment's fleet, the alternatives, the recommendation and the scaling contract."""
    found = options(scenario)
    source, as_of = snapshot_meta()
    need = scenario_demand(scenario)
    env = scenario.env
    reference = _reference(scenario)
    weights = found[0].sizing.plan.hours if found else ()
    return EstimateReport(
        environment=env.name,
        catalog=CatalogInfo(
            source=scenario.catalog_source or source, as_of=scenario.catalog_as_of or as_of, region=env.region
        ),
        hours_per_month=round(scenario.hours.hours, 2),
        hours_basis=scenario.hours.basis,
        workdays=round(scenario.hours.workdays, 2),
        requests_per_month=round(requests_per_month(scenario), 1),
        precision="fp16" if scenario.fp16 else "fp32",
        p95_request=P95Request(
            chars=round(need.p95_chars, 1), audio_s=round(need.audio_s_p95, 2), basis=need.p95_basis
        ),
        slo=SloSummary(
            ttfa_p95_s=env.workload.ttfa_p95_s,
            stream_rtf_max=env.workload.stream_rtf_max,
            latency_p95_s=env.workload.latency_p95_s,
        ),
        engine_option=scenario.engine_option,
        hourly_load_rps=tuple(round(h.rate_rps, 5) for h in weights),
        service=_service_contract(scenario),
        notes=scenario.deployment.notes,
        options=tuple(o.summary() for o in found),
        recommendation=recommend(found, env=env, reference=reference),
    )


def _reference(scenario: Scenario) -> float | None:
    """The seed's baseline: one g5.xlarge on-demand 24/7, compute only (the $734/month the project started from)."""
    od = _price(scenario, "on_demand", REFERENCE_TYPE)
    return None if od is None else od.usd_per_hour * ALWAYS_ON_HOURS


def _service_contract(scenario: Scenario) -> ServiceContract | None:
    """What the synthesized template and the service settings must carry for the environment's own fleet."""
    env = scenario.env
    if env.service.engine != "cosyvoice3":
        return None
    target = scaling_target(env, engine_option=scenario.engine_option)
    return ServiceContract(
        max_concurrency=env.service.max_concurrency,
        scaling_metric=target.metric,
        scaling_target_in_flight=target.target_in_flight,
        max_rate_per_instance_rps=target.max_rate_rps,
        sized_for=target.sized_for,
    )
