"""boto3 clients for the boot, and the two things it reports: lifecycle-hook results and boot metrics."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_s3 import S3Client

log = logging.getLogger("voicefleet.instance")
# Short connect/read timeouts with standard retries: a boot step either answers or fails with its reason quickly.
CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 5})
LAUNCH_ABANDONED = "LaunchAbandoned"
BOOT_SECONDS = "BootSeconds"


@dataclass(frozen=True)
class Clients:
    autoscaling: AutoScalingClient
    cloudwatch: CloudWatchClient
    s3: S3Client
    secrets: Any  # SecretsManagerClient (boto3-stubs for it are not installed)

    @classmethod
    def for_region(cls, region: str) -> Clients:
        def make(service: str) -> Any:
            factory: Any = boto3.client
            return factory(service, region_name=region, config=CLIENT_CONFIG)

        return cls(make("autoscaling"), make("cloudwatch"), make("s3"), make("secretsmanager"))


def complete_hook(clients: Clients, *, hook: str, group: str, instance_id: str, result: str) -> bool:
    """Complete the instance's pending lifecycle action; False when none is pending (a reboot, a manual start)."""
    try:
        clients.autoscaling.complete_lifecycle_action(
            LifecycleHookName=hook, AutoScalingGroupName=group, InstanceId=instance_id, LifecycleActionResult=result
        )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "ValidationError" and "No active Lifecycle Action" in str(error.get("Message")):
            log.info("no pending lifecycle action", extra={"event": "hook", "hook": hook, "result": result})
            return False
        raise
    log.info(f"lifecycle hook {hook}: {result}", extra={"event": "hook", "hook": hook, "result": result})
    return True


def put_metric(clients: Clients, *, namespace: str, env_name: str, name: str, value: float, unit: str) -> None:
    """One datapoint per environment; a failure is logged, never raised (the hook result matters more)."""
    try:
        clients.cloudwatch.put_metric_data(
            Namespace=namespace,
            MetricData=[
                {
                    "MetricName": name,
                    "Dimensions": [{"Name": "Environment", "Value": env_name}],
                    "Timestamp": dt.datetime.now(dt.UTC),
                    "Value": value,
                    "Unit": unit,  # type: ignore[typeddict-item]
                }
            ],
        )
    except (ClientError, BotoCoreError) as exc:
        log.error(f"metric {name} not published: {exc}", extra={"event": "metric", "metric": name})
