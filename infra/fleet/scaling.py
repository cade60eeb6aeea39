"""The fleet's scaling policy: target tracking on the service's own streams-in-flight gauge, at the target the
service-time profile gives at synth time (cost/capacity/scaling.py) — the same profile that sets the service's
admission slots (TTS_MAX_CONCURRENCY) and that cost-estimate prices with (tests/test_capacity_contract.py).

The metric: the CloudWatch agent scrapes /metrics and re-publishes `voicefleet_in_flight_requests` (requests and
streams inside the engine) as VoiceFleet/voicefleet_in_flight_requests with the AutoScalingGroupName dimension;
its Average over the group is the per-instance figure target tracking needs. Requests per minute (the old policy)
measured nothing the service can hold: a stream of 44 s of audio and a 2-second clip count the same.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch

from cost.capacity.scaling import ScalingTarget, scaling_target
from infra.fleet.cloudwatch_agent import IN_FLIGHT_METRIC, SERVICE_NAMESPACE
from voicefleet_config import EnvironmentConfig


def in_flight_metric(asg_name: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=SERVICE_NAMESPACE,
        metric_name=IN_FLIGHT_METRIC,
        dimensions_map={"AutoScalingGroupName": asg_name},
        statistic="Average",
        period=cdk.Duration.minutes(1),
    )


def add_scaling(asg: autoscaling.AutoScalingGroup, *, asg_name: str, config: EnvironmentConfig) -> ScalingTarget:
    """Track mean streams in flight per instance at the profile's target; scale-out waits for a booted instance
    (fleet.boot_minutes) before it counts, so the policy does not launch again for the same load."""
    target = scaling_target(config)
    asg.scale_to_track_metric(
        "StreamsInFlight",
        metric=in_flight_metric(asg_name),
        target_value=target.target_in_flight,
        estimated_instance_warmup=cdk.Duration.minutes(config.fleet.boot_minutes),
    )
    return target
