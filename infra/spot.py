"""Spot interruption warnings and rebalance recommendations -> the spot Lambda (detach, count, notify)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.functions import METRIC_NAMESPACE, PythonFunction, dead_letter_queue
from voicefleet_config import EnvironmentConfig

DETAIL_TYPES = ("EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation")


class SpotEvents(Construct):
    """EventBridge rule in this account and region, targeting the spot handler with retries and a DLQ."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        asg_name: str,
        asg_arn: str,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.handler = PythonFunction(
            self,
            "Handler",
            handler="lambdas.spot.handler.handler",
            description=f"voicefleet {config.name}: react to Spot interruption and rebalance events",
            environment={
                "ASG_NAMES": asg_name,
                "METRIC_NAMESPACE": METRIC_NAMESPACE,
                "ENV_NAME": config.name,
                "SNS_TOPIC_ARN": topic.topic_arn,
            },
            # A Spot warning gives two minutes; the handler must be done well inside them.
            timeout=cdk.Duration.seconds(60),
            retain_logs=not config.disposable,
        )
        self.function = self.handler.function
        self.handler.allow_metrics()
        role = self.handler.role
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["autoscaling:DescribeAutoScalingInstances", "ec2:DescribeInstances"], resources=["*"]
            )
        )
        role.add_to_policy(iam.PolicyStatement(actions=["autoscaling:DetachInstances"], resources=[asg_arn]))
        topic.grant_publish(role)
        self.dead_letters = dead_letter_queue(self)
        self.rule = events.Rule(
            self,
            "Rule",
            description=f"voicefleet {config.name}: EC2 Spot interruption warnings and rebalance recommendations",
            event_pattern=events.EventPattern(
                source=["aws.ec2"],
                detail_type=list(DETAIL_TYPES),
                account=[stack.account],
                region=[stack.region],
            ),
            targets=[
                events_targets.LambdaFunction(
                    self.function,
                    retry_attempts=2,
                    max_event_age=cdk.Duration.minutes(2),
                    dead_letter_queue=self.dead_letters,
                )
            ],
        )
