"""Everything on the monthly bill besides the instances, for one scenario: storage, egress, network, operations."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from cost import bill
from cost.catalog import model_value, service_price
from cost.schedule import ALWAYS_ON_HOURS
from cost.workload import demand

if TYPE_CHECKING:
    from cost.estimator import Scenario

# Scheduler Lambda runs per day as infra/schedule.py deploys them: daily start and stop, plus a reconcile every
# RECONCILE_MINUTES (15) minutes (tests/test_contracts.py keeps the two in step).
SCHEDULER_RUNS_PER_DAY = 2 + 24 * 60 // 15


def requests_per_month(scenario: Scenario) -> float:
    return scenario.env.workload.requests_per_business_day * scenario.hours.workdays


class Fixed(NamedTuple):
    """Monthly USD of everything but the instances."""

    storage: float
    egress: float
    network: float
    other: float


def fixed_costs(scenario: Scenario, instance_hours: float, instances: int) -> Fixed:
    env, dep = scenario.env, scenario.deployment
    wl = env.workload
    need = demand(wl, env.service, scenario.hours.open_hours_per_day)
    outputs = requests_per_month(scenario)
    per_output = bill.output_bytes(need.audio_s_avg, wl.output_format)
    s3 = bill.s3_steady_state(outputs, per_output, env.storage)
    # Volumes exist only while their instance does (the schedule terminates instances at night).
    ebs = env.fleet.root_volume_gib * service_price("ebs_gp3_gb_month") * instance_hours / ALWAYS_ON_HOURS
    # Bytes out through CloudFront: every API response body (the audio, streamed or whole) plus every download.
    downloads = wl.downloads_per_output + wl.archive_downloads_per_output
    egress_gb = outputs * per_output * (1 + downloads) / 1024**3
    cf_requests = outputs * (1 + downloads)
    egress = bill.cloudfront(egress_gb, cf_requests, env.cdn.price_class)
    nat = dep.nat_gateways if dep.nat_gateways is not None else env.network.nat_gateways
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
    n_secrets = int(model_value("secrets"))
    other += bill.secrets(count=n_secrets, calls=n_secrets * instances * scenario.hours.workdays)
    metrics = model_value("agent_custom_metrics")
    other += bill.custom_metrics(
        per_instance=int(metrics["per_instance"]),
        per_group=int(metrics["per_group"]),
        instance_hours=instance_hours,
        group_hours=scenario.hours.hours,
    )
    retrieval = 0.0
    if env.storage.glacier_class == "GLACIER_IR" and wl.archive_downloads_per_output:
        reads = outputs * wl.archive_downloads_per_output
        retrieval = bill.glacier_ir_retrieval(reads * per_output / 1024**3, reads)
    return Fixed(
        storage=ebs + s3.storage + s3.requests + retrieval, egress=egress, network=net.total + firewall, other=other
    )
