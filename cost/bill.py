"""Everything on the monthly bill besides GPU compute: EBS, S3 by class, requests, CloudFront, ALB, NAT/IPv4, WAF,
ops."""

from __future__ import annotations

from dataclasses import dataclass

from cost.catalog import model_value, service_price, services_file
from voicefleet_config import StorageConfig

DAYS_PER_MONTH = 365.25 / 12
_GLACIER_PRICE = {
    "GLACIER_IR": "s3_glacier_ir_gb_month",
    "GLACIER": "s3_glacier_flexible_gb_month",
    "DEEP_ARCHIVE": "s3_deep_archive_gb_month",
}
_TRANSITION_PRICE = {
    "GLACIER_IR": "s3_transition_glacier_ir_per_1000",
    "GLACIER": "s3_transition_glacier_flexible_per_1000",
    "DEEP_ARCHIVE": "s3_transition_deep_archive_per_1000",
}
# Without an expiry the archive grows forever; price it at one year of retention and say so.
UNBOUNDED_RETENTION_DAYS = 365


@dataclass(frozen=True)
class StorageBill:
    standard_gb: float
    archive_gb: float
    storage: float  # USD/month at steady state
    requests: float  # PUT + lifecycle transitions
    notes: tuple[str, ...]


def output_bytes(audio_seconds: float, output_format: str) -> float:
    rate = float(model_value("output_bytes_per_audio_second")[output_format])
    return audio_seconds * rate


def s3_steady_state(outputs_per_month: float, bytes_per_output: float, storage: StorageConfig) -> StorageBill:
    """Bytes held in each class once the lifecycle has run long enough, priced per month."""
    notes: list[str] = []
    per_day = outputs_per_month / DAYS_PER_MONTH
    gb = bytes_per_output / 1024**3
    std_days = storage.glacier_after_days
    if storage.expire_after_days:
        archive_days = storage.expire_after_days - std_days
    else:
        archive_days = UNBOUNDED_RETENTION_DAYS
        notes.append(f"no expiry: archive priced at {UNBOUNDED_RETENTION_DAYS} days of output (it keeps growing)")
    cls = storage.glacier_class
    min_days = int(services_file()["services"]["s3_min_days"][cls])
    billed_archive_days = max(archive_days, min_days)
    if billed_archive_days > archive_days:
        notes.append(f"{cls} bills at least {min_days} days: objects deleted after {archive_days} days pay {min_days}")
    std_gb = per_day * std_days * gb
    billed_object = bytes_per_output
    overhead_std_gb = 0.0
    if cls == "GLACIER_IR":
        billed_object = max(bytes_per_output, service_price("s3_glacier_ir_min_object_kib") * 1024)
    else:
        overhead = service_price("s3_archive_overhead_kib") * 1024
        billed_object += overhead * 32 / 40
        overhead_std_gb = per_day * billed_archive_days * overhead * 8 / 40 / 1024**3
    archive_gb = per_day * billed_archive_days * billed_object / 1024**3
    cost = (std_gb + overhead_std_gb) * service_price("s3_standard_gb_month") + archive_gb * service_price(
        _GLACIER_PRICE[cls]
    )
    transitions = outputs_per_month if storage.expire_after_days == 0 or archive_days > 0 else 0.0
    requests = outputs_per_month / 1000 * service_price("s3_put_per_1000") + transitions / 1000 * service_price(
        _TRANSITION_PRICE[cls]
    )
    return StorageBill(std_gb, archive_gb, cost, requests, tuple(notes))


def tiered(gb: float, bounds: list[float | None], rates: list[float]) -> float:
    """Price `gb` through volume tiers (upper bounds in GB, None = no bound)."""
    total, lower = 0.0, 0.0
    for bound, rate in zip(bounds, rates, strict=True):
        upper = gb if bound is None else min(gb, bound)
        if upper > lower:
            total += (upper - lower) * rate
        if bound is None or gb <= bound:
            break
        lower = bound
    return total


def cloudfront(egress_gb: float, requests: float, price_class: str) -> float:
    """CloudFront egress after the always-free 1 TB, plus HTTPS requests after the free 10M."""
    svc = services_file()["services"]
    column = svc["cloudfront_price_class_column"][price_class]
    tiers = svc["cloudfront_egress_tiers"]
    billable = max(0.0, egress_gb - service_price("cloudfront_free_gb_month"))
    egress = tiered(billable, tiers["bounds_gb"], tiers[column])
    billable_requests = max(0.0, requests - service_price("cloudfront_free_requests_month"))
    # HTTPS requests are priced per region like the bytes: the price class's most expensive region.
    per_10k = float(svc["cloudfront_https_per_10k_by_column"][column])
    return egress + billable_requests / 10_000 * per_10k


def glacier_ir_retrieval(gb: float, objects: float) -> float:
    """Reading objects back from Glacier Instant Retrieval: per GB retrieved plus per GET."""
    return gb * service_price("s3_glacier_ir_retrieval_gb") + objects / 1000 * service_price(
        "s3_glacier_ir_get_per_1000"
    )


def secrets(*, count: int, calls: float) -> float:
    """Secrets Manager: per secret-month plus API calls (each instance reads its secrets once at boot)."""
    return count * service_price("secrets_manager_secret_month") + calls / 10_000 * service_price(
        "secrets_manager_per_10k_calls"
    )


def custom_metrics(*, per_instance: int, per_group: int, instance_hours: float, group_hours: float) -> float:
    """The CloudWatch agent's custom metrics, prorated by the hours each receives data: per-instance series for the
    instance-hours, fleet aggregates for the hours the fleet runs; after the always-free metrics."""
    metric_months = (per_instance * instance_hours + per_group * group_hours) / 730.0
    billable = max(0.0, metric_months - service_price("cloudwatch_free_custom_metrics"))
    return billable * service_price("cloudwatch_custom_metric_month")


@dataclass(frozen=True)
class NetworkBill:
    alb: float
    nat: float
    ipv4: float

    @property
    def total(self) -> float:
        return self.alb + self.nat + self.ipv4


def network(
    *,
    albs: int,
    alb_gb: float,
    nat_gateways: int,
    azs: int,
    instance_hours: float,
    public_albs: int = 0,
) -> NetworkBill:
    """ALB (24/7 + LCUs from bytes), NAT gateways (24/7), public IPv4 (instances without NAT; an internet-facing ALB's
    node per AZ — the stack's ALB is internal, behind a CloudFront VPC origin, and has none)."""
    hours = 730.0
    lcu_hours = alb_gb / service_price("alb_lcu_gb_per_hour")
    alb = albs * (hours * service_price("alb_hour")) + lcu_hours * service_price("alb_lcu_hour")
    nat = nat_gateways * hours * service_price("nat_gateway_hour")
    ipv4_hours = public_albs * azs * hours + (0.0 if nat_gateways else instance_hours)
    return NetworkBill(alb, nat, ipv4_hours * service_price("public_ipv4_hour"))


def waf(*, web_acls: int, rules: int, requests: float) -> float:
    """AWS WAF on the distribution: per web ACL and rule per month, plus every request it inspects."""
    if not web_acls:
        return 0.0
    monthly = web_acls * service_price("waf_web_acl_month") + rules * service_price("waf_rule_month")
    return monthly + requests / 1e6 * service_price("waf_per_million_requests")


def operations(*, requests: float, alarms: int, scheduler_invocations: float) -> float:
    """Lambda + EventBridge Scheduler + CloudWatch alarms and logs, after their free allowances."""
    lambda_requests = scheduler_invocations + float(model_value("spot_lambda_invocations_month"))
    lam = (
        max(0.0, lambda_requests - service_price("lambda_free_requests_month"))
        / 1e6
        * service_price("lambda_per_million")
    )
    sched = (
        max(0.0, scheduler_invocations - service_price("scheduler_free_month"))
        / 1e6
        * service_price("scheduler_per_million")
    )
    alarm = max(0, alarms - service_price("cloudwatch_free_alarms")) * service_price("cloudwatch_alarm_month")
    log_gb = requests * float(model_value("log_bytes_per_request")) / 1024**3
    logs = max(0.0, log_gb - service_price("cloudwatch_free_logs_gb")) * service_price("cloudwatch_logs_gb")
    return lam + sched + alarm + logs
