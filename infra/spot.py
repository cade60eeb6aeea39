"""Spot interruption warnings and rebalance recommendations -> the spot Lambda (detach, count, notify).

Events are deduplicated in a small DynamoDB table (conditional writes, one-day TTL): EventBridge delivers at least
once, and a detached instance stays "Detaching" for a while, so a second delivery would otherwise be counted and
notified again.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.functions import METRIC_NAMESPACE, AsyncInvoke, PythonFunction, dead_letter_queue
from voicefleet_config import EnvironmentConfig

DETAIL_TYPES = ("EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation")
# The attribute DynamoDB's TTL reads (epoch seconds), written by lambdas/spot/dedupe.py.
DEDUPE_TTL_ATTRIBUTE = "expires_at"


class SpotEvents(Construct):
    """EventBridge rule in this account and region, targeting the spot handler; failures go to one queue."""

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
        self.dead_letters = dead_letter_queue(self)
        self.seen = dynamodb.Table(
            self,
            "SeenEvents",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=DEDUPE_TTL_ATTRIBUTE,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # One-day dedupe records: nothing worth keeping when the stack goes.
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
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
                "DEDUPE_TABLE": self.seen.table_name,
            },
            # A Spot warning gives two minutes; the handler must be done well inside them.
            timeout=cdk.Duration.seconds(60),
            retain_logs=not config.disposable,
            # No retry: Lambda's retries come 1 and 3 minutes later, after the two-minute warning is over. A failure
            # goes straight to the queue (and its alarm). 60 s is the shortest event age Lambda accepts.
            async_invoke=AsyncInvoke(
                retry_attempts=0, max_event_age=cdk.Duration.seconds(60), on_failure=self.dead_letters
            ),
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
        role.add_to_policy(
            iam.PolicyStatement(actions=["dynamodb:PutItem", "dynamodb:DeleteItem"], resources=[self.seen.table_arn])
        )
        topic.grant_publish(role)
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
                    # Delivery retries only (throttled or unavailable Lambda), within the two-minute warning.
                    retry_attempts=2,
                    max_event_age=cdk.Duration.minutes(2),
                    dead_letter_queue=self.dead_letters,
                )
            ],
        )
