"""Dashboard and alarms for one environment; alarms go to an SNS topic (e-mail from config)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.boot_alarms import boot_alarms, boot_seconds
from infra.fleet.cloudwatch_agent import GPU_NAMESPACE, QUEUE_DEPTH_METRIC
from infra.functions import METRIC_NAMESPACE
from voicefleet_config import AlertingConfig

FIVE_MIN = cdk.Duration.minutes(5)
ONE_MIN = cdk.Duration.minutes(1)
# Alarm thresholds: operating policy, not measurements.
ERROR_RATE_PERCENT = 5
GPU_MEMORY_PERCENT = 90
# One minute: a target the load balancer calls unhealthy is replaced within a couple of minutes, and its
# replacement is kept out of service until it serves (the launch hook), so a longer window would never see a
# failing replacement cycle. Booting instances are not registered yet, so they never count here.
UNHEALTHY_PERIODS = 1


class Alerts(Construct):
    """The alarm topic: TLS-only, e-mail subscription when configured, publishable by AWS Budgets."""

    def __init__(self, scope: Construct, construct_id: str, *, config: AlertingConfig, env_name: str) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Topic", display_name=f"voicefleet {env_name} alerts", enforce_ssl=True)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"],
                principals=[iam.ServicePrincipal("budgets.amazonaws.com")],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Stack.of(self).account}},
            )
        )
        if config.email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.email))


class Monitoring(Construct):
    """Requests, latency, errors, queue depth, GPU, instances by purchase option, Spot events, schedule runs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        topic: sns.ITopic,
        alb: elbv2.ApplicationLoadBalancer,
        target_group: elbv2.ApplicationTargetGroup,
        asg_name: str,
        scheduler_function: lambda_.IFunction,
        schedule_dead_letters: sqs.IQueue,
        boot_minutes: int,
        spot_dead_letters: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        asg_dim = {"AutoScalingGroupName": asg_name}
        requests = alb.metrics.request_count(period=FIVE_MIN, statistic="Sum")
        target_5xx = alb.metrics.http_code_target(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=FIVE_MIN)
        elb_5xx = alb.metrics.http_code_elb(elbv2.HttpCodeElb.ELB_5XX_COUNT, period=FIVE_MIN)
        target_4xx = alb.metrics.http_code_target(elbv2.HttpCodeTarget.TARGET_4XX_COUNT, period=FIVE_MIN)
        error_rate = cw.MathExpression(
            expression="100 * (FILL(t5, 0) + FILL(e5, 0)) / MAX([req, 1])",
            using_metrics={"t5": target_5xx, "e5": elb_5xx, "req": requests},
            label="5xx %",
            period=FIVE_MIN,
        )
        gpu = cw.Metric(namespace=GPU_NAMESPACE, metric_name="nvidia_smi_utilization_gpu", dimensions_map=asg_dim)
        gpu_memory = cw.MathExpression(
            expression="100 * used / total",
            using_metrics={
                name: cw.Metric(
                    namespace=GPU_NAMESPACE,
                    metric_name=f"nvidia_smi_memory_{name}",
                    dimensions_map=asg_dim,
                    statistic="Maximum",
                )
                for name in ("used", "total")
            },
            label="GPU memory used % (max over instances)",
            period=ONE_MIN,
        )
        # One host-memory sample per instance per minute: SampleCount = instances reporting, per purchase option.
        by_option = [
            cw.Metric(
                namespace=GPU_NAMESPACE,
                metric_name="mem_used_percent",
                dimensions_map={**asg_dim, "PurchaseOption": option},
                statistic="SampleCount",
                period=ONE_MIN,
                label=option,
            )
            for option in ("spot", "on-demand")
        ]
        in_service = cw.Metric(
            namespace="AWS/AutoScaling", metric_name="GroupInServiceInstances", dimensions_map=asg_dim, period=ONE_MIN
        )
        queue = cw.Metric(
            namespace=METRIC_NAMESPACE, metric_name=QUEUE_DEPTH_METRIC, dimensions_map={"Environment": env_name}
        )
        spot_events = cw.MathExpression(
            expression=(
                f"SEARCH('{{{METRIC_NAMESPACE},Environment,InstanceType,AvailabilityZone}} "
                f"Environment=\"{env_name}\"', 'Sum', 300)"
            ),
            label="",
            period=FIVE_MIN,
        )
        schedule_runs = cw.MathExpression(
            expression=(
                f'SEARCH(\'{{{METRIC_NAMESPACE},Environment,Action,Result}} MetricName="ScheduleRun" '
                f"Environment=\"{env_name}\"', 'Sum', 3600)"
            ),
            label="",
            period=cdk.Duration.hours(1),
        )
        scheduler_errors = scheduler_function.metric_errors(period=FIVE_MIN, statistic="Sum")
        dead_letters = schedule_dead_letters.metric_approximate_number_of_messages_visible(
            period=FIVE_MIN, statistic="Maximum"
        )
        spot_dead_letters_visible = spot_dead_letters.metric_approximate_number_of_messages_visible(
            period=FIVE_MIN, statistic="Maximum"
        )
        # Counted by the scheduler Lambda (lambdas/scheduler/handler.py): a tag it had to ignore, a day its calendar
        # does not cover. One hour, so each reconcile's count lands in a period.
        env_dim = {"Environment": env_name}
        tags_ignored = cw.Metric(
            namespace=METRIC_NAMESPACE,
            metric_name="ScheduleTagIgnored",
            dimensions_map=env_dim,
            statistic="Sum",
            period=cdk.Duration.hours(1),
        )
        uncovered = cw.Metric(
            namespace=METRIC_NAMESPACE,
            metric_name="CalendarUncovered",
            dimensions_map=env_dim,
            statistic="Sum",
            period=cdk.Duration.hours(1),
        )

        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=f"voicefleet-{env_name}")
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Requests", left=[requests], width=8),
            cw.GraphWidget(
                title="Latency p50 / p95 (s)",
                left=[
                    target_group.metrics.target_response_time(statistic="p50", period=FIVE_MIN),
                    target_group.metrics.target_response_time(statistic="p95", period=FIVE_MIN),
                ],
                width=8,
            ),
            cw.GraphWidget(title="4xx / 5xx", left=[target_4xx, target_5xx, elb_5xx], right=[error_rate], width=8),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Queue depth", left=[queue], width=8),
            cw.GraphWidget(title="GPU utilization %", left=[gpu], right=[gpu_memory], width=8),
            cw.GraphWidget(title="Instances by purchase option", left=[*by_option, in_service], width=8),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Spot interruptions / rebalance recommendations", left=[spot_events], width=12),
            cw.GraphWidget(title="Schedule runs", left=[schedule_runs], right=[scheduler_errors], width=12),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Boot: kernel start to serving (s)", left=[boot_seconds(env_name)], width=12),
        )

        action = cw_actions.SnsAction(topic)

        def page(
            metric: cw.Metric | cw.MathExpression,
            alarm_id: str,
            why: str,
            *,
            threshold: float,
            periods: int,
            comparison: cw.ComparisonOperator,
        ) -> cw.Alarm:
            """An alarm on `metric` for the topic; missing data counts as not breaching."""
            return metric.create_alarm(
                self,
                alarm_id,
                alarm_description=f"voicefleet {env_name}: {why}",
                threshold=threshold,
                evaluation_periods=periods,
                comparison_operator=comparison,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            )

        above = cw.ComparisonOperator.GREATER_THAN_THRESHOLD
        at_least = cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        unhealthy = target_group.metrics.unhealthy_host_count(period=ONE_MIN, statistic="Maximum")
        self.alarms = [
            page(
                error_rate,
                "Error5xxRate",
                f"more than {ERROR_RATE_PERCENT}% of requests end in 5xx",
                threshold=ERROR_RATE_PERCENT,
                periods=3,
                comparison=above,
            ),
            page(
                unhealthy,
                "UnhealthyHosts",
                "a serving target failed its health checks (the instance is being replaced)",
                threshold=1,
                periods=UNHEALTHY_PERIODS,
                comparison=at_least,
            ),
            page(
                gpu_memory,
                "GpuMemory",
                f"GPU memory above {GPU_MEMORY_PERCENT}% (OOM risk)",
                threshold=GPU_MEMORY_PERCENT,
                periods=5,
                comparison=above,
            ),
            page(
                scheduler_errors,
                "ScheduleFailures",
                "the start/stop Lambda failed",
                threshold=1,
                periods=1,
                comparison=at_least,
            ),
            page(
                dead_letters,
                "ScheduleDeadLetters",
                "a start/stop run failed after its retries (or was not delivered): see the scheduler's queue",
                threshold=1,
                periods=1,
                comparison=at_least,
            ),
            page(
                spot_dead_letters_visible,
                "SpotDeadLetters",
                "a Spot event was not handled (function error or not delivered): see the Spot handler's queue",
                threshold=1,
                periods=1,
                comparison=at_least,
            ),
            page(
                tags_ignored,
                "ScheduleTagIgnored",
                "the scheduler ignored a malformed override or saved-size tag (or a misspelt tag key): fix the tag",
                threshold=1,
                periods=1,
                comparison=at_least,
            ),
            page(
                uncovered,
                "CalendarUncovered",
                "the scheduler decided a day outside its holiday calendar as a plain weekday: renew the calendar",
                threshold=1,
                periods=1,
                comparison=at_least,
            ),
        ]
        self.alarms += boot_alarms(
            self, env_name=env_name, asg_name=asg_name, boot_minutes=boot_minutes, target_group=target_group
        )
        for alarm in self.alarms:
            alarm.add_alarm_action(action)
