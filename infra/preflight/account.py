"""Checks that hold before anything is deployed: GPU vCPU quotas and the default VPC Image Builder builds in."""

from __future__ import annotations

import math
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from cost.catalog import instance
from infra.preflight.result import Check, aws_error
from voicefleet_config import EnvironmentConfig

# Service Quotas names (EC2 "Spot Instance quotas" page; new accounts have 0 vCPU of the Spot one).
SPOT_QUOTA = "All G and VT Spot Instance Requests"
ON_DEMAND_QUOTA = "Running On-Demand G and VT instances"


def vcpu_needs(config: EnvironmentConfig) -> tuple[int, int]:
    """(Spot vCPUs, on-demand vCPUs) the fleet may run at its maximum, on its largest configured type."""
    fleet = config.fleet
    largest = max(instance(name).vcpu for name in fleet.instance_types)
    base = min(fleet.on_demand_base_capacity, fleet.max_capacity)
    on_demand = base + math.ceil((fleet.max_capacity - base) * fleet.on_demand_percentage_above_base / 100)
    return (fleet.max_capacity - on_demand) * largest, on_demand * largest


def _quota(quotas: Any, name: str) -> float | None:
    """The applied value, else AWS's default; None when neither list names it."""
    for operation in ("list_service_quotas", "list_aws_default_service_quotas"):
        call = f"service-quotas {operation}"
        try:
            for page in quotas.get_paginator(operation).paginate(ServiceCode="ec2"):
                for quota in page.get("Quotas", []):
                    if quota.get("QuotaName") == name:
                        return float(quota["Value"])
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(call, exc) from exc
    return None


def quota_checks(config: EnvironmentConfig, quotas: Any) -> list[Check]:
    families = sorted({name.split(".")[0] for name in config.fleet.instance_types if not name.startswith("g")})
    if families:
        return [Check("GPU vCPU quotas", "fail", f"preflight knows the G-family quotas only, not {families}",
                      "check the P-family quotas in the Service Quotas console")]  # fmt: skip
    spot_need, on_demand_need = vcpu_needs(config)
    checks = []
    for name, need, kind in ((SPOT_QUOTA, spot_need, "Spot"), (ON_DEMAND_QUOTA, on_demand_need, "on-demand")):
        label = f"{kind} G/VT vCPU quota"
        if need == 0:
            checks.append(Check(label, "pass", f"the fleet runs no {kind} instances"))
            continue
        value = _quota(quotas, name)
        if value is None:
            checks.append(Check(label, "fail", f"Service Quotas has no '{name}' in {config.region}",
                                "check the quota name in the Service Quotas console (EC2)"))  # fmt: skip
        elif value < need:
            checks.append(
                Check(
                    label,
                    "fail",
                    f"'{name}' is {value:g} vCPU; fleet.max_capacity {config.fleet.max_capacity} needs {need}",
                    f"request {need} vCPU: aws service-quotas request-service-quota-increase --service-code ec2 "
                    f"--quota-code <code of '{name}'> --desired-value {need} --region {config.region} "
                    "(new accounts start at 0 for Spot)",
                )
            )
        else:
            checks.append(Check(label, "pass", f"'{name}' is {value:g} vCPU, the fleet needs at most {need}"))
    return checks


def default_vpc_check(ec2: Any, region: str) -> Check:
    try:
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    except (ClientError, BotoCoreError) as exc:
        raise aws_error("ec2 DescribeVpcs", exc) from exc
    if vpcs:
        return Check("default VPC", "pass", f"{vpcs[0]['VpcId']} (Image Builder's build instances run there)")
    return Check(
        "default VPC",
        "fail",
        f"{region} has no default VPC, where Image Builder launches its build instances",
        f"aws ec2 create-default-vpc --region {region}",
    )
