"""Fixtures for the Lambda tests: GPU groups in moto (over HTTP), environments, and a throttling injector."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.config import Config

from lambdas.scheduler.handler import SchedulerClients
from lambdas.spot.handler import SpotClients
from voicefleet_config import EnvironmentConfig, load_environment

SIZE_TAG = "voicefleet:running-size"
OVERRIDE_TAG = "voicefleet:override"
NAMESPACE = "VoiceFleet"
# Any well-formed AMI id: moto launches instances from it without checking (describe_images costs ~1 s per test).
IMAGE_ID = "ami-0123456789abcdef0"


def scheduler_environ(cfg: EnvironmentConfig, asg_names: str) -> dict[str, str]:
    """The scheduler's environment variables for one environment of cdk.json, from the very function the CDK stack
    uses (tests/test_contracts.py checks the synthesized templates carry the same)."""
    from infra.schedule import scheduler_environment  # aws_cdk: ~2 s, paid once

    return scheduler_environment(cfg, asg_names)


@pytest.fixture(scope="session")
def dev_config() -> EnvironmentConfig:
    """cdk.json's dev: America/New_York, Mon-Fri, no holidays, default size 0-1-1."""
    return load_environment("dev")


@pytest.fixture(scope="session")
def prod_config() -> EnvironmentConfig:
    """cdk.json's prod: Asia/Shanghai, Mon-Fri, China's 2026 holidays and make-up workdays, default size 1-1-4."""
    return load_environment("prod")


@dataclass
class Fleet:
    """Clients on the moto server plus helpers to create and inspect GPU groups."""

    autoscaling: Any
    ec2: Any
    cloudwatch: Any
    sns: Any
    sqs: Any
    dynamodb: Any
    _templates: set[str] = field(default_factory=set)

    def scheduler_clients(self) -> SchedulerClients:
        return SchedulerClients(autoscaling=self.autoscaling, cloudwatch=self.cloudwatch)

    def spot_clients(self) -> SpotClients:
        return SpotClients(
            autoscaling=self.autoscaling, ec2=self.ec2, cloudwatch=self.cloudwatch, sns=self.sns, dynamodb=self.dynamodb
        )

    def group(
        self, name: str, size: str = "0-0-0", tags: dict[str, str] | None = None, instance_type: str = "g5.xlarge"
    ) -> str:
        """Create a group of `instance_type` instances at `size` ("min-desired-max") with `tags`."""
        template = f"voicefleet-{instance_type.replace('.', '-')}"
        if template not in self._templates:
            self.ec2.create_launch_template(
                LaunchTemplateName=template, LaunchTemplateData={"ImageId": IMAGE_ID, "InstanceType": instance_type}
            )
            self._templates.add(template)
        low, desired, high = (int(part) for part in size.split("-"))
        ref = {"ResourceId": name, "ResourceType": "auto-scaling-group", "PropagateAtLaunch": False}
        self.autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchTemplate={"LaunchTemplateName": template, "Version": "$Latest"},
            MinSize=low,
            DesiredCapacity=desired,
            MaxSize=high,
            AvailabilityZones=["us-east-1a"],
            Tags=[{**ref, "Key": key, "Value": value} for key, value in (tags or {}).items()],
        )
        return name

    def describe(self, name: str) -> dict[str, Any]:
        groups = self.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
        return dict(groups[0])

    def size(self, name: str) -> str:
        group = self.describe(name)
        return f"{group['MinSize']}-{group['DesiredCapacity']}-{group['MaxSize']}"

    def tags(self, name: str) -> dict[str, str]:
        return {tag["Key"]: tag["Value"] for tag in self.describe(name).get("Tags", [])}

    def state(self, *names: str) -> dict[str, tuple[str, dict[str, str]]]:
        """Size and tags of each group: the 'final state' idempotence tests compare."""
        return {name: (self.size(name), self.tags(name)) for name in names}

    def backstop(self, name: str, tz: ZoneInfo) -> str:
        """The group's backstop as the decisions table shows it: 'suspended', 'opening <local time>' or '-'."""
        suspended = self.describe(name).get("SuspendedProcesses", [])
        if any(p["ProcessName"] == "ScheduledActions" for p in suspended):
            return "suspended"
        actions = self.autoscaling.describe_scheduled_actions(
            AutoScalingGroupName=name, ScheduledActionNames=["voicefleet-opening"]
        )["ScheduledUpdateGroupActions"]
        if not actions:
            return "-"
        return f"opening {actions[0]['StartTime'].astimezone(tz):%Y-%m-%d %H:%M}"

    def metric_count(self, metric: str, dimensions: dict[str, str]) -> float:
        stats = self.cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE,
            MetricName=metric,
            Dimensions=[{"Name": key, "Value": value} for key, value in dimensions.items()],
            StartTime=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
            EndTime=dt.datetime(2100, 1, 1, tzinfo=dt.UTC),
            Period=86400 * 365,
            Statistics=["Sum"],
        )
        return float(sum(point["Sum"] for point in stats["Datapoints"]))


@pytest.fixture
def fleet(aws_client: Callable[..., Any]) -> Fleet:
    return Fleet(
        autoscaling=aws_client("autoscaling"),
        ec2=aws_client("ec2"),
        cloudwatch=aws_client("cloudwatch"),
        sns=aws_client("sns"),
        sqs=aws_client("sqs"),
        dynamodb=aws_client("dynamodb"),
    )


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


_THROTTLE_XML = (
    b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
    b"<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
)
# EC2 answers in its own error shape, with its own throttling code (EC2 API Reference, "Error codes").
_EC2_THROTTLE_XML = (
    b"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error>"
    b"</Errors><RequestID>00000000-0000-0000-0000-000000000000</RequestID></Response>"
)


@dataclass
class Throttle:
    """Lets `after` calls of one operation through, then answers `times` calls with HTTP 400 Throttling (EC2:
    RequestLimitExceeded)."""

    times: int
    after: int = 0
    body: bytes = _THROTTLE_XML
    calls: int = 0
    seen: int = 0  # how many were throttled

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        self.calls += 1
        if self.calls <= self.after or self.seen >= self.times:
            return None
        self.seen += 1
        headers = HTTPHeaders()
        headers["Content-Type"] = "text/xml"
        return AWSResponse(request.url, 400, headers, _Body(self.body))


def throttle(client: Any, operation: str, times: int = 1, after: int = 0) -> Throttle:
    """Register on botocore's before-send event, so the throttle goes through the client's real retry logic."""
    hook = Throttle(times, after, _EC2_THROTTLE_XML if client.meta.service_model.protocol == "ec2" else _THROTTLE_XML)
    client.meta.events.register(f"before-send.{client.meta.service_model.service_id.hyphenize()}.{operation}", hook)
    return hook


def client_with(endpoint: str, service: str, config: Config) -> Any:
    """A boto3 client on the moto server with explicit botocore settings (retry mode, attempts)."""
    factory: Any = boto3.client  # the stubs' overloads want a literal service name
    return factory(service, region_name="us-east-1", endpoint_url=endpoint, config=config)
