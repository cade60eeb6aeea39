"""Alarms on the fleet's boots and on what it should be reporting while it is meant to run.

"Meant to run" is the group's desired capacity being at least 1 (the scheduler sets it for business hours,
holidays and overrides included), not a clock: CloudWatch alarms know no time zone. Each "while running" alarm
waits longer than a boot (fleet.boot_minutes) before it counts silence, so the morning start does not page.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from infra.fleet.cloudwatch_agent import GPU_NAMESPACE, QUEUE_DEPTH_METRIC
from infra.names import METRIC_NAMESPACE
from instance.aws import BOOT_SECONDS, LAUNCH_ABANDONED

ONE_MIN = cdk.Duration.minutes(1)
# Minutes beyond the boot budget before silence or no healthy host counts: the ALB's verdict and a scrape or two.
SLACK_MINUTES = 3


def boot_seconds(env_name: str) -> cw.Metric:
    """Kernel start -> launch gate passed, as each instance measured it (instance/gate.py)."""
    return cw.Metric(
        namespace=METRIC_NAMESPACE,
        metric_name=BOOT_SECONDS,
        dimensions_map={"Environment": env_name},
        statistic="Maximum",
        period=cdk.Duration.minutes(5),
        label="boot seconds (max)",
    )


def boot_alarms(
    scope: Construct,
    *,
    env_name: str,
    asg_name: str,
    boot_minutes: int,
    target_group: elbv2.ApplicationTargetGroup,
) -> list[cw.Alarm]:
    asg_dim = {"AutoScalingGroupName": asg_name}
    desired = cw.Metric(
        namespace="AWS/AutoScaling",
        metric_name="GroupDesiredCapacity",
        dimensions_map=asg_dim,
        statistic="Maximum",
        period=ONE_MIN,
    )
    running_for = boot_minutes + SLACK_MINUTES

    def alarm(
        expression: cw.Metric | cw.MathExpression,
        alarm_id: str,
        why: str,
        comparison: cw.ComparisonOperator,
        periods: int,
    ) -> cw.Alarm:
        return expression.create_alarm(
            scope,
            alarm_id,
            alarm_description=f"voicefleet {env_name}: {why}",
            threshold=1,
            evaluation_periods=periods,
            comparison_operator=comparison,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )

    def while_running(metric: cw.Metric, label: str) -> cw.MathExpression:
        """1 while the fleet is meant to run and `metric` reports; 0 when it is meant to run and is silent."""
        return cw.MathExpression(
            expression="IF(FILL(desired, 0) >= 1, FILL(m, 0), 1)",
            using_metrics={"desired": desired, "m": metric},
            label=label,
            period=ONE_MIN,
        )

    below = cw.ComparisonOperator.LESS_THAN_THRESHOLD
    at_least = cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
    abandoned = cw.Metric(
        namespace=METRIC_NAMESPACE,
        metric_name=LAUNCH_ABANDONED,
        dimensions_map={"Environment": env_name},
        statistic="Sum",
        period=cdk.Duration.minutes(5),
    )
    no_healthy_host = cw.MathExpression(
        expression="IF(FILL(desired, 0) >= 1 AND FILL(healthy, 0) < 1, 1, 0)",
        using_metrics={
            "desired": desired,
            "healthy": target_group.metrics.healthy_host_count(period=ONE_MIN, statistic="Minimum"),
        },
        label="meant to run, no healthy host",
        period=ONE_MIN,
    )
    gpu_samples = cw.Metric(
        namespace=GPU_NAMESPACE,
        metric_name="nvidia_smi_utilization_gpu",
        dimensions_map=asg_dim,
        statistic="SampleCount",
        period=ONE_MIN,
    )
    queue_samples = cw.Metric(
        namespace=METRIC_NAMESPACE,
        metric_name=QUEUE_DEPTH_METRIC,
        dimensions_map={"Environment": env_name},
        statistic="SampleCount",
        period=ONE_MIN,
    )
    return [
        alarm(
            abandoned,
            "LaunchAbandoned",
            "an instance gave up its launch (reason in its boot log: /voicefleet/<env>/instances, stream "
            "<instance>/boot); a broken image or settings make every replacement fail the same way",
            at_least,
            1,
        ),
        alarm(
            no_healthy_host,
            "NoHealthyHost",
            f"the fleet is meant to run but no target has been healthy for {running_for} minutes (longer than a boot)",
            at_least,
            running_for,
        ),
        alarm(
            while_running(gpu_samples, "GPU metrics reporting"),
            "GpuMetricsMissing",
            f"no GPU metrics for {running_for} minutes while the fleet is meant to run (CloudWatch agent down?)",
            below,
            running_for,
        ),
        alarm(
            while_running(queue_samples, "queue depth reporting"),
            "QueueMetricsMissing",
            f"no queue-depth metric for {running_for} minutes while the fleet is meant to run (/metrics scrape?)",
            below,
            running_for,
        ),
    ]
