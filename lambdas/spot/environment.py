"""The Spot Lambda's configuration, read once from its environment variables (set by the CDK stack)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from lambdas.common.env import MalformedEnvironmentVariableError, csv_list, current_environ, required

_SNS_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class SpotEnvironment:
    asg_names: tuple[str, ...]
    metric_namespace: str
    env_name: str
    sns_topic_arn: str | None  # None: no notification
    dedupe_table: str  # DynamoDB table of events already handled (lambdas/spot/dedupe.py)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SpotEnvironment:
        """Build from ASG_NAMES, METRIC_NAMESPACE, ENV_NAME, DEDUPE_TABLE and SNS_TOPIC_ARN (empty or unset = no
        notification); raises an EnvironmentVariableError naming the first bad variable."""
        env = current_environ() if environ is None else environ
        topic = env.get("SNS_TOPIC_ARN", "").strip()
        if topic and not _SNS_ARN.match(topic):
            raise MalformedEnvironmentVariableError(
                "SNS_TOPIC_ARN", f"'{topic}' is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME) or empty"
            )
        return cls(
            asg_names=csv_list(env, "ASG_NAMES"),
            metric_namespace=required(env, "METRIC_NAMESPACE"),
            env_name=required(env, "ENV_NAME"),
            sns_topic_arn=topic or None,
            dedupe_table=required(env, "DEDUPE_TABLE"),
        )
