"""Entry point: `lambdas.spot.handler.handler`, invoked by an EventBridge rule on EC2 Spot events.

For an interruption warning of an in-service instance of one of our groups, the instance is detached without
decrementing the desired capacity, so Auto Scaling launches its replacement at once instead of after the two-minute
warning runs out; the instance itself keeps draining (it watches IMDSv2 spot/instance-action). A rebalance
recommendation is only counted: with capacity rebalancing on, the group replaces the instance itself.
Malformed events, instances outside our groups and repeated deliveries (lambdas/spot/dedupe.py) are logged, counted
and ignored: a retry would not help. `run()` holds the logic and takes its clients and clock as arguments;
`handler()` builds real ones.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from lambdas.common.aws import CLIENT_CONFIG
from lambdas.common.jsonlog import get_logger, log
from lambdas.common.metrics import put_count
from lambdas.spot import dedupe
from lambdas.spot.environment import SpotEnvironment
from lambdas.spot.events import MalformedSpotEventError, SpotEvent, parse_event

if TYPE_CHECKING:
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_autoscaling.type_defs import AutoScalingInstanceDetailsTypeDef
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_sns import SNSClient

LOGGER = get_logger("voicefleet.spot")
IGNORED_METRIC = "SpotEventIgnored"
# Detach accepts InService and Standby instances; a Standby instance was parked by an operator, so it is left alone.
_DETACHABLE = "InService"
_GONE = "InvalidInstanceID.NotFound"  # EC2 no longer lists the instance: Auto Scaling's copy of type and zone is right


@dataclass(frozen=True)
class SpotClients:
    autoscaling: AutoScalingClient
    ec2: EC2Client
    cloudwatch: CloudWatchClient
    sns: SNSClient
    dynamodb: DynamoDBClient


def run(event: object, env: SpotEnvironment, clients: SpotClients, now: dt.datetime | None = None) -> dict[str, Any]:
    """Handle one event; returns what was done and why."""
    now = now or dt.datetime.now(tz=dt.UTC)
    try:
        spot = parse_event(event)
    except MalformedSpotEventError as exc:
        return _ignore(env, clients, now, "malformed-event", str(exc), None)
    claim = dedupe.claim(clients.dynamodb, env.dedupe_table, spot, now, LOGGER)
    if claim.duplicate_of is not None:
        detail = f"{spot.kind} of {spot.instance_id} already handled ({claim.duplicate_of})"
        return _ignore(env, clients, now, "duplicate", detail, spot)
    try:
        return _handle(spot, env, clients, now)
    except Exception:
        dedupe.release(clients.dynamodb, env.dedupe_table, claim.keys, LOGGER)
        raise


def _handle(spot: SpotEvent, env: SpotEnvironment, clients: SpotClients, now: dt.datetime) -> dict[str, Any]:
    found = clients.autoscaling.describe_auto_scaling_instances(InstanceIds=[spot.instance_id])["AutoScalingInstances"]
    if not found:
        return _ignore(env, clients, now, "not-in-a-group", f"{spot.instance_id} is in no Auto Scaling group", spot)
    member = found[0]
    group = member["AutoScalingGroupName"]
    if group not in env.asg_names:
        return _ignore(env, clients, now, "other-group", f"{spot.instance_id} belongs to {group}, not ours", spot)
    instance_type, zone = _placement(clients.ec2, spot.instance_id, member)
    dims = {"Environment": env.env_name, "InstanceType": instance_type, "AvailabilityZone": zone}
    put_count(
        clients.cloudwatch,
        namespace=env.metric_namespace,
        name=spot.metric_name,
        dimensions=dims,
        when=now,
        logger=LOGGER,
    )
    outcome: dict[str, Any] = {
        "result": "handled",
        "event": spot.kind,
        "instance_id": spot.instance_id,
        "instance_action": spot.instance_action,
        "group": group,
        "instance_type": instance_type,
        "availability_zone": zone,
        "lifecycle_state": member["LifecycleState"],
        "replacement": "by-capacity-rebalance",
        "notified": False,
    }
    if spot.kind == "interruption":
        outcome["replacement"] = _detach(clients.autoscaling, group, spot.instance_id, member["LifecycleState"])
        outcome["notified"] = _notify(clients.sns, env, outcome)
    log(LOGGER, f"{spot.kind} of {spot.instance_id} in {group}: replacement {outcome['replacement']}", **outcome)
    return outcome


def _placement(ec2: EC2Client, instance_id: str, member: AutoScalingInstanceDetailsTypeDef) -> tuple[str, str]:
    """Instance type and AZ from EC2; Auto Scaling's copy if EC2 no longer knows the instance or does not answer.

    Best effort: the pair only labels the metric, and the detach comes after it. A DescribeInstances throttled past
    the client's retries (likely while a whole zone is reclaimed) must not hold up the early replacement.
    """
    try:
        reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    except (ClientError, BotoCoreError) as exc:
        if not (isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") == _GONE):
            log(LOGGER, "placement from Auto Scaling", level=logging.WARNING, instance_id=instance_id, error=str(exc))
        reservations = []
    for reservation in reservations:
        for instance in reservation.get("Instances", []):
            zone = instance.get("Placement", {}).get("AvailabilityZone")
            if "InstanceType" in instance and zone:
                return instance["InstanceType"], zone
    return member.get("InstanceType", "unknown"), member["AvailabilityZone"]


def _detach(autoscaling: AutoScalingClient, group: str, instance_id: str, state: str) -> str:
    if state != _DETACHABLE:
        return f"none (instance is {state})"
    try:
        autoscaling.detach_instances(
            InstanceIds=[instance_id], AutoScalingGroupName=group, ShouldDecrementDesiredCapacity=False
        )
    except ClientError as exc:
        # Lost a race with Auto Scaling (the instance left the group meanwhile): nothing to replace, retry won't help.
        if exc.response.get("Error", {}).get("Code") != "ValidationError":
            raise
        log(LOGGER, "detach refused", level=logging.WARNING, instance_id=instance_id, group=group, error=str(exc))
        return "none (detach refused)"
    return "detached"


def _notify(sns: SNSClient, env: SpotEnvironment, outcome: dict[str, Any]) -> bool:
    if env.sns_topic_arn is None:
        return False
    subject = f"[voicefleet {env.env_name}] Spot interruption {outcome['instance_id']}"
    try:
        sns.publish(TopicArn=env.sns_topic_arn, Subject=subject[:100], Message=json.dumps(outcome, indent=2))
    except (ClientError, BotoCoreError) as exc:
        # The replacement is already under way; failing now would make EventBridge retry an event that is then
        # "not in a group". The error log is the alarm's signal.
        log(LOGGER, "notification failed", level=logging.ERROR, topic=env.sns_topic_arn, error=str(exc))
        return False
    return True


def _ignore(
    env: SpotEnvironment, clients: SpotClients, now: dt.datetime, reason: str, detail: str, spot: SpotEvent | None
) -> dict[str, Any]:
    instance_id = spot.instance_id if spot else None
    log(LOGGER, f"event ignored: {detail}", level=logging.WARNING, reason=reason, instance_id=instance_id)
    dims = {"Environment": env.env_name, "Reason": reason}
    put_count(
        clients.cloudwatch,
        namespace=env.metric_namespace,
        name=IGNORED_METRIC,
        dimensions=dims,
        when=now,
        logger=LOGGER,
    )
    return {"result": "ignored", "reason": reason, "detail": detail, "instance_id": instance_id}


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Lambda entry point. Clients are built per invocation: Spot events are rare and cold starts dominate anyway."""
    env = SpotEnvironment.from_env()
    clients = SpotClients(
        autoscaling=boto3.client("autoscaling", config=CLIENT_CONFIG),
        ec2=boto3.client("ec2", config=CLIENT_CONFIG),
        cloudwatch=boto3.client("cloudwatch", config=CLIENT_CONFIG),
        sns=boto3.client("sns", config=CLIENT_CONFIG),
        dynamodb=boto3.client("dynamodb", config=CLIENT_CONFIG),
    )
    return run(event, env, clients)
