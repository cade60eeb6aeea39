"""Lambda functions from the repository's `lambdas/` package: plain assets (no Docker), own log group and role."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.assets import stage_lambda_package
from infra.names import METRIC_NAMESPACE

__all__ = ["METRIC_NAMESPACE", "RUNTIME", "PythonFunction", "dead_letter_queue"]

# Fixed by the cross-part contract with lambdas/ (the runtime its tests target).
RUNTIME = lambda_.Runtime.PYTHON_3_12


@cache
def _lambda_asset_dir() -> Path:
    return stage_lambda_package()


@dataclass(frozen=True)
class AsyncInvoke:
    """How Lambda handles a failed asynchronous invocation (EventBridge Scheduler and rules invoke asynchronously):
    retries, the oldest event still worth running, and the queue it goes to after that (EventInvokeConfig)."""

    retry_attempts: int
    max_event_age: cdk.Duration
    on_failure: sqs.IQueue


class PythonFunction(Construct):
    """One handler of `lambdas/`, with a role that can only write its own logs until the caller grants more."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        description: str,
        environment: dict[str, str],
        timeout: cdk.Duration,
        retain_logs: bool,
        async_invoke: AsyncInvoke,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=cdk.RemovalPolicy.RETAIN if retain_logs else cdk.RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=description
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[f"{self.log_group.log_group_arn}:*"]
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=lambda_.Code.from_asset(str(_lambda_asset_dir())),
            description=description,
            environment=environment,
            timeout=timeout,
            memory_size=256,
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            # A handler error never reaches the caller's dead-letter queue (that covers delivery only): these send it,
            # with the event and the error, to the on-failure queue once the retries are spent.
            retry_attempts=async_invoke.retry_attempts,
            max_event_age=async_invoke.max_event_age,
            on_failure=destinations.SqsDestination(async_invoke.on_failure),
        )

    def allow_metrics(self) -> None:
        """PutMetricData into the VoiceFleet namespace only (the action has no resource type)."""
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}},
            )
        )


def dead_letter_queue(scope: Construct) -> sqs.Queue:
    """The encrypted, TLS-only queue (14 days) for a function's failures: events its trigger could not deliver, and
    invocations that still failed after Lambda's retries (the function's on-failure destination)."""
    return sqs.Queue(
        scope,
        "DeadLetters",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=cdk.Duration.days(14),
    )
