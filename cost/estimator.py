"""Price every (instance type x purchase option) for one environment's workload and pick the cheapest feasible one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from cost import bill
from cost.catalog import Interruption, Price, instance, model_value, service_price, snapshot_meta
from cost.profiles import Profile
from cost.recommend import recommend
from cost.result import CatalogInfo, EstimateReport, Monthly, OptionSummary, P95Request, Purchase, money
from cost.schedule import ALWAYS_ON_HOURS, MonthHours
from cost.spot import basis, fallback_share, interruption, interruption_source, mix_counts, spot_effective
from cost.throughput import pick
from cost.workload import Capacity, Demand, capacity, demand
from voicefleet_config import EnvironmentConfig

# Scheduler Lambda runs per day as infra/schedule.py deploys them: daily start and stop, plus a reconcile every
# RECONCILE_MINUTES (15) minutes (tests/test_contracts.py keeps the two in step).
SCHEDULER_RUNS_PER_DAY = 2 + 24 * 60 // 15


@dataclass(frozen=True)
class Deployment:
    """What is deployed around the fleet (from the config, or from a synthesized template)."""

    albs: int = 1
    public_albs: int = 0  # internet-facing ones (public IPv4 per AZ); the stack's ALB is internal
    nat_gateways: int | None = None  # None: from env.network (one per AZ when nat is on)
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
    profiles: tuple[Profile, ...] = ()  # explicit --profile
    bundled_profiles: tuple[Profile, ...] = ()  # found under cost/profiles/
    deployment: Deployment = Deployment()
    prices: dict[str, dict[str, Price]] = field(
        default_factory=dict
    )  # live overlay: {"on_demand"/"spot": {type: Price}}
    interruption: dict[str, Interruption] = field(default_factory=dict)  # live overlay: Spot Instance Advisor buckets
    catalog_source: str = ""
    catalog_as_of: str = ""


@dataclass(frozen=True)
class Option:
    """One (instance type x purchase) priced for the scenario. A missing price is None, never $0: `hourly_price`,
    `monthly.compute`, `monthly.total` and the per-unit costs are then None and the option is not feasible."""

    instance_type: str
    gpu: str
    gpu_memory_gib: float
    purchase: Purchase
    feasible: bool
    reasons: tuple[str, ...]
    hourly_price: float | None
    instances: int
    capacity: Capacity | None
    monthly: Monthly
    cost_per_1k_requests: float | None
    cost_per_audio_hour: float | None
    throughput_source: str
    price_source: str
    interruption_bucket: str | None = None  # Spot and mix options with a price only
    interruption_source: str | None = None

    @property
    def priced(self) -> bool:
        return self.hourly_price is not None

    @property
    def total(self) -> float | None:
        return self.monthly.total

    @property
    def misses_latency_only(self) -> bool:
        """Priced, fits memory, and fails only the p95 latency target."""
        return self.priced and self.capacity is not None and self.capacity.misses_latency_only

    def sort_key(self) -> tuple[bool, bool, float]:
        """Priced before unpriced, then feasible first, then cheapest."""
        return (not self.priced, not self.feasible, self.total if self.total is not None else 0.0)

    def summary(self) -> OptionSummary:
        """The option as reported, figures rounded."""
        cap = self.capacity
        return OptionSummary(
            instance_type=self.instance_type,
            gpu=self.gpu,
            gpu_memory_gib=self.gpu_memory_gib,
            purchase=self.purchase,
            feasible=self.feasible,
            reasons=self.reasons,
            hourly_price=money(self.hourly_price, 5),
            instances=self.instances,
            concurrency_per_gpu=cap.concurrency if cap else 0,
            latency_p95_s=round(cap.latency_p95_s, 2) if cap and (cap.feasible or cap.misses_latency_only) else None,
            monthly=self.monthly.rounded(),
            cost_per_1k_requests=money(self.cost_per_1k_requests, 4),
            cost_per_audio_hour=money(self.cost_per_audio_hour, 4),
            throughput_source=self.throughput_source,
            price_source=self.price_source,
            interruption_bucket=self.interruption_bucket,
            interruption_source=self.interruption_source,
        )


def _price(scenario: Scenario, kind: str, itype: str) -> Price | None:
    live = scenario.prices.get(kind, {}).get(itype)
    if live is not None:
        return live
    table = instance(itype).on_demand if kind == "on_demand" else instance(itype).spot
    return table.get(scenario.env.region)


class _Hourly(NamedTuple):
    price: float | None
    why_not: str
    source: str
    bucket: str | None = None
    interruption_source: str | None = None


def _hourly(scenario: Scenario, itype: str, purchase: Purchase, count: int) -> _Hourly:
    """Average $/h per instance for `purchase` and its source, or (None, reason) when it cannot be priced."""
    region = scenario.env.region
    od = _price(scenario, "on_demand", itype)
    if od is None:
        return _Hourly(None, f"{itype} is not offered in {region} in the price snapshot (try --live)", "")
    if purchase == "on-demand":
        return _Hourly(od.usd_per_hour, "", f"{od.source} ({od.as_of})")
    sp = _price(scenario, "spot", itype)
    if sp is None:
        return _Hourly(None, f"no Spot price for {itype} in {region} in the snapshot (try --live)", "")
    risk = interruption(scenario.interruption, itype, region)
    share = fallback_share(risk.bucket)
    eff = spot_effective(sp.usd_per_hour, od.usd_per_hour, share)
    source = (
        f"{sp.source} ({sp.as_of}); expected cost with {share:.1%} on-demand fallback "
        f"(midpoint of the {risk.bucket} interruption bucket: {basis(risk)})"
    )
    why = interruption_source(risk, sp.usd_per_hour, od.usd_per_hour)
    if purchase == "spot":
        return _Hourly(eff, "", source, risk.bucket, why)
    fleet = scenario.env.fleet
    n_od, n_spot = mix_counts(count, fleet.on_demand_base_capacity, fleet.on_demand_percentage_above_base)
    return _Hourly((n_od * od.usd_per_hour + n_spot * eff) / count, "", source, risk.bucket, why)


def requests_per_month(scenario: Scenario) -> float:
    return scenario.env.workload.requests_per_business_day * scenario.hours.workdays


class _Fixed(NamedTuple):
    """Monthly USD of everything but the instances."""

    storage: float
    egress: float
    network: float
    other: float


def _fixed_costs(scenario: Scenario, instance_hours: float, instances: int) -> _Fixed:
    env, dep = scenario.env, scenario.deployment
    wl = env.workload
    need = demand(wl, env.service, scenario.hours.open_hours_per_day)
    outputs = requests_per_month(scenario)
    per_output = bill.output_bytes(need.audio_s_avg, wl.output_format)
    s3 = bill.s3_steady_state(outputs, per_output, env.storage)
    # Volumes exist only while their instance does (the schedule terminates instances at night).
    ebs = env.fleet.root_volume_gib * service_price("ebs_gp3_gb_month") * instance_hours / ALWAYS_ON_HOURS
    egress_gb = outputs * per_output * wl.downloads_per_output / 1024**3
    cf_requests = outputs * (1 + wl.downloads_per_output)
    egress = bill.cloudfront(egress_gb, cf_requests, env.cdn.price_class)
    nat = dep.nat_gateways if dep.nat_gateways is not None else (env.network.max_azs if env.network.nat else 0)
    request_gb = outputs * float(model_value("request_bytes")) / 1024**3
    net = bill.network(
        albs=dep.albs,
        alb_gb=request_gb + outputs * per_output / 1024**3,
        nat_gateways=nat,
        azs=env.network.max_azs,
        instance_hours=instance_hours,
        public_albs=dep.public_albs,
    )
    # The web ACL inspects every request to the distribution: API calls and audio downloads alike.
    firewall = bill.waf(
        web_acls=dep.web_acls if dep.web_acls is not None else int(env.cdn.waf.enabled),
        rules=dep.waf_rules if dep.waf_rules is not None else env.cdn.waf.rules,
        requests=cf_requests,
    )
    alarms = dep.alarms if dep.alarms is not None else int(model_value("cloudwatch_alarms"))
    other = bill.operations(
        requests=outputs, alarms=alarms, scheduler_invocations=SCHEDULER_RUNS_PER_DAY * bill.DAYS_PER_MONTH
    )
    return _Fixed(storage=ebs + s3.storage + s3.requests, egress=egress, network=net.total + firewall, other=other)


def price_option(
    scenario: Scenario,
    itype: str,
    purchase: Purchase,
    *,
    hours: float | None = None,
    latency_target_s: float | None = None,
) -> Option:
    """Price one option; `hours` and `latency_target_s` override the scenario's (24/7 comparisons, what-ifs)."""
    env = scenario.env
    spec = instance(itype)
    model = pick(spec.gpu, fp16=scenario.fp16, profiles=list(scenario.profiles), bundled=scenario.bundled_profiles)
    need = scenario_demand(scenario)
    cap = capacity(
        need,
        model,
        latency_target_s=env.workload.latency_p95_s if latency_target_s is None else latency_target_s,
        gpu_memory_gib=spec.gpu_memory_gib,
        fp16=scenario.fp16,
        max_batch=env.service.max_batch,
        min_instances=env.fleet.min_capacity,
    )
    reasons = list(cap.reasons)
    count = cap.instances if cap.feasible else max(env.fleet.min_capacity, 1)
    priced = _hourly(scenario, itype, purchase, count)
    hourly, why_not = priced.price, priced.why_not
    if hourly is None:
        reasons.append(why_not)
    run_hours = scenario.hours.hours if hours is None else hours
    instance_hours = count * run_hours
    fixed = _fixed_costs(scenario, instance_hours, count)
    compute = None if hourly is None else instance_hours * hourly
    total = None if compute is None else compute + sum(fixed)
    monthly = Monthly(compute, fixed.storage, fixed.egress, fixed.network, fixed.other, total)
    reqs = requests_per_month(scenario)
    audio_hours = reqs * need.audio_s_avg / 3600
    return Option(
        instance_type=itype,
        gpu=spec.gpu,
        gpu_memory_gib=spec.gpu_memory_gib,
        purchase=purchase,
        feasible=not reasons,
        reasons=tuple(reasons),
        hourly_price=hourly,
        instances=count,
        capacity=cap,
        monthly=monthly,
        cost_per_1k_requests=None if total is None else (total / (reqs / 1000) if reqs else 0.0),
        cost_per_audio_hour=None if total is None else (total / audio_hours if audio_hours else 0.0),
        throughput_source=model.source,
        price_source=priced.source,
        interruption_bucket=priced.bucket,
        interruption_source=priced.interruption_source,
    )


def scenario_demand(scenario: Scenario) -> Demand:
    return demand(scenario.env.workload, scenario.env.service, scenario.hours.open_hours_per_day)


def estimate(scenario: Scenario) -> EstimateReport:
    """The full report for one scenario: options sorted (priced, feasible, cheapest first) and the recommendation."""
    options = [price_option(scenario, t, p) for t in scenario.instance_types for p in scenario.purchases]
    options.sort(key=Option.sort_key)

    def reprice(itype: str, purchase: Purchase, hours: float | None, latency_target_s: float | None) -> Option:
        return price_option(scenario, itype, purchase, hours=hours, latency_target_s=latency_target_s)

    source, as_of = snapshot_meta()
    need = scenario_demand(scenario)
    return EstimateReport(
        environment=scenario.env.name,
        catalog=CatalogInfo(
            source=scenario.catalog_source or source,
            as_of=scenario.catalog_as_of or as_of,
            region=scenario.env.region,
        ),
        hours_per_month=round(scenario.hours.hours, 2),
        hours_basis=scenario.hours.basis,
        workdays=round(scenario.hours.workdays, 2),
        requests_per_month=round(requests_per_month(scenario), 1),
        precision="fp16" if scenario.fp16 else "fp32",
        p95_request=P95Request(
            chars=round(need.p95_chars, 1), audio_s=round(need.audio_s_p95, 2), basis=need.p95_basis
        ),
        notes=scenario.deployment.notes,
        options=tuple(o.summary() for o in options),
        recommendation=recommend(options, target_s=scenario.env.workload.latency_p95_s, need=need, reprice=reprice),
    )
