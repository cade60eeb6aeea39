"""Spot interruption warnings and rebalance recommendations against moto over HTTP (autoscaling, ec2, cw, sns)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.config import Config

from lambdas.common.aws import CLIENT_CONFIG
from lambdas.common.env import MalformedEnvironmentVariableError, MissingEnvironmentVariableError
from lambdas.spot.environment import SpotEnvironment
from lambdas.spot.events import INTERRUPTION, REBALANCE
from lambdas.spot.handler import SpotClients, handler, run

from .conftest import Fleet, client_with, throttle

GROUP = "voicefleet-prod-gpu"
TABLE = "voicefleet-prod-spot-seen"


def spot_event(
    instance_id: str, detail_type: str = INTERRUPTION, event_id: str = "12345678-1234-1234-1234-123456789012"
) -> dict[str, Any]:
    """The event as EventBridge delivers it (EC2 User Guide, "Spot Instance interruption notices")."""
    detail: dict[str, str] = {"instance-id": instance_id}
    if detail_type == INTERRUPTION:
        detail["instance-action"] = "terminate"
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": "aws.ec2",
        "account": "123456789012",
        "time": "2026-03-10T14:05:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:ec2:us-east-1a:instance/{instance_id}"],
        "detail": detail,
    }


class Inbox:
    """An SQS queue subscribed to the topic: what the on-call would have received."""

    def __init__(self, fleet: Fleet) -> None:
        self.topic = fleet.sns.create_topic(Name="voicefleet-prod-alerts")["TopicArn"]
        self._sqs = fleet.sqs
        self.url = fleet.sqs.create_queue(QueueName="inbox")["QueueUrl"]
        arn = fleet.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        fleet.sns.subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=arn)

    def messages(self) -> list[dict[str, Any]]:
        got = self._sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in got]


@pytest.fixture
def inbox(fleet: Fleet) -> Inbox:
    return Inbox(fleet)


@pytest.fixture
def seen_table(fleet: Fleet) -> str:
    """The dedupe table as infra/spot.py declares it (partition key "pk", string)."""
    fleet.dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return TABLE


BASE_ENV = {"ASG_NAMES": GROUP, "METRIC_NAMESPACE": "VoiceFleet", "ENV_NAME": "prod", "DEDUPE_TABLE": TABLE}


@pytest.fixture
def env(inbox: Inbox, seen_table: str) -> SpotEnvironment:
    return SpotEnvironment.from_env({**BASE_ENV, "SNS_TOPIC_ARN": inbox.topic})


def _instances(fleet: Fleet, group: str) -> list[str]:
    return sorted(instance["InstanceId"] for instance in fleet.describe(group)["Instances"])


def _placement_dims(instance_type: str = "g5.xlarge") -> dict[str, str]:
    return {"Environment": "prod", "InstanceType": instance_type, "AvailabilityZone": "us-east-1a"}


def test_interruption_detaches_keeps_capacity_counts_and_notifies(
    fleet: Fleet, env: SpotEnvironment, inbox: Inbox
) -> None:
    fleet.group(GROUP, "1-2-4", instance_type="g6.xlarge")
    doomed, survivor = _instances(fleet, GROUP)
    out = run(spot_event(doomed), env, fleet.spot_clients())
    assert (out["result"], out["replacement"], out["notified"]) == ("handled", "detached", True)
    after = _instances(fleet, GROUP)
    assert doomed not in after
    assert survivor in after
    assert len(after) == 2  # the replacement was launched at once
    assert fleet.describe(GROUP)["DesiredCapacity"] == 2
    assert fleet.metric_count("SpotInterruption", _placement_dims("g6.xlarge")) == 1
    [message] = inbox.messages()
    assert message["Subject"] == f"[voicefleet prod] Spot interruption {doomed}"
    body = json.loads(message["Message"])
    assert (body["instance_id"], body["group"], body["instance_type"]) == (doomed, GROUP, "g6.xlarge")


def test_rebalance_is_counted_and_left_to_capacity_rebalance(fleet: Fleet, env: SpotEnvironment, inbox: Inbox) -> None:
    fleet.group(GROUP, "1-1-4")
    [instance] = _instances(fleet, GROUP)
    out = run(spot_event(instance, REBALANCE), env, fleet.spot_clients())
    assert (out["result"], out["replacement"], out["notified"]) == ("handled", "by-capacity-rebalance", False)
    assert _instances(fleet, GROUP) == [instance]
    assert fleet.metric_count("RebalanceRecommendation", _placement_dims()) == 1
    assert fleet.metric_count("SpotInterruption", _placement_dims()) == 0
    assert inbox.messages() == []


def test_same_interruption_three_times_detaches_once(fleet: Fleet, env: SpotEnvironment, inbox: Inbox) -> None:
    fleet.group(GROUP, "1-2-4")
    doomed = _instances(fleet, GROUP)[0]
    results = [run(spot_event(doomed), env, fleet.spot_clients()) for _ in range(3)]
    assert [(r["result"], r.get("reason")) for r in results] == [
        ("handled", None),
        ("ignored", "duplicate"),
        ("ignored", "duplicate"),
    ]
    assert len(_instances(fleet, GROUP)) == 2
    assert doomed not in _instances(fleet, GROUP)
    assert fleet.metric_count("SpotInterruption", _placement_dims()) == 1
    assert len(inbox.messages()) == 1


def test_instance_of_another_group_is_ignored(fleet: Fleet, env: SpotEnvironment, inbox: Inbox) -> None:
    fleet.group("someone-elses-batch", "1-1-1")
    [theirs] = _instances(fleet, "someone-elses-batch")
    out = run(spot_event(theirs), env, fleet.spot_clients())
    assert (out["result"], out["reason"]) == ("ignored", "other-group")
    assert _instances(fleet, "someone-elses-batch") == [theirs]
    assert fleet.metric_count("SpotEventIgnored", {"Environment": "prod", "Reason": "other-group"}) == 1
    assert inbox.messages() == []


def test_unknown_instance_is_ignored(fleet: Fleet, env: SpotEnvironment) -> None:
    out = run(spot_event("i-0123456789abcdef0"), env, fleet.spot_clients())
    assert (out["result"], out["reason"]) == ("ignored", "not-in-a-group")
    assert fleet.metric_count("SpotEventIgnored", {"Environment": "prod", "Reason": "not-in-a-group"}) == 1


MALFORMED: dict[str, object] = {
    "not an object": "EC2 Spot Instance Interruption Warning",
    "null": None,
    "empty": {},
    "other source": {**spot_event("i-0123456789abcdef0"), "source": "aws.autoscaling"},
    "other detail-type": {**spot_event("i-0123456789abcdef0"), "detail-type": "EC2 Instance State-change Notification"},
    "no detail": {k: v for k, v in spot_event("i-0123456789abcdef0").items() if k != "detail"},
    "bad instance id": spot_event("vol-0123456789abcdef0"),
    "instance id not a string": {**spot_event("i-0123456789abcdef0"), "detail": {"instance-id": 42}},
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_event_is_logged_counted_and_ignored(
    name: str, fleet: Fleet, env: SpotEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet.group(GROUP, "1-1-4")
    before = _instances(fleet, GROUP)
    out = run(MALFORMED[name], env, fleet.spot_clients())
    assert (out["result"], out["reason"]) == ("ignored", "malformed-event")
    assert _instances(fleet, GROUP) == before
    assert fleet.metric_count("SpotEventIgnored", {"Environment": "prod", "Reason": "malformed-event"}) == 1
    [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"voicefleet.spot"' in x]
    assert (line["level"], line["reason"]) == ("WARNING", "malformed-event")


def test_instance_not_in_service_is_counted_not_detached(fleet: Fleet, env: SpotEnvironment) -> None:
    fleet.group(GROUP, "0-2-4")
    parked, _ = _instances(fleet, GROUP)
    fleet.autoscaling.enter_standby(
        AutoScalingGroupName=GROUP, InstanceIds=[parked], ShouldDecrementDesiredCapacity=True
    )
    out = run(spot_event(parked), env, fleet.spot_clients())
    assert out["replacement"] == "none (instance is Standby)"
    assert parked in _instances(fleet, GROUP)
    assert fleet.metric_count("SpotInterruption", _placement_dims()) == 1


def test_detach_throttled_once_is_retried_by_the_client(fleet: Fleet, env: SpotEnvironment, moto_endpoint: str) -> None:
    fleet.group(GROUP, "1-2-4")
    doomed = _instances(fleet, GROUP)[0]

    def make(service: str) -> Any:
        return client_with(moto_endpoint, service, CLIENT_CONFIG)

    clients = SpotClients(
        autoscaling=make("autoscaling"),
        ec2=make("ec2"),
        cloudwatch=make("cloudwatch"),
        sns=make("sns"),
        dynamodb=make("dynamodb"),
    )
    hook = throttle(clients.autoscaling, "DetachInstances", times=1)
    out = run(spot_event(doomed), env, clients)
    assert (hook.seen, out["replacement"]) == (1, "detached")
    assert doomed not in _instances(fleet, GROUP)
    assert len(_instances(fleet, GROUP)) == 2


def test_placement_lookup_throttled_past_the_retries_still_detaches(
    fleet: Fleet, env: SpotEnvironment, moto_endpoint: str
) -> None:
    """Regression: DescribeInstances (only for the metric's type and zone) ran before the detach and re-raised anything
    but NotFound, so a throttled lookup during a zone-wide reclaim stopped the early replacement."""
    fleet.group(GROUP, "1-2-4", instance_type="g6.xlarge")
    doomed = _instances(fleet, GROUP)[0]
    spent = Config(retries={"mode": "standard", "total_max_attempts": 1})  # as if the client's retries were used up
    clients = SpotClients(
        autoscaling=client_with(moto_endpoint, "autoscaling", CLIENT_CONFIG),
        ec2=client_with(moto_endpoint, "ec2", CLIENT_CONFIG.merge(spent)),
        cloudwatch=client_with(moto_endpoint, "cloudwatch", CLIENT_CONFIG),
        sns=client_with(moto_endpoint, "sns", CLIENT_CONFIG),
        dynamodb=client_with(moto_endpoint, "dynamodb", CLIENT_CONFIG),
    )
    hook = throttle(clients.ec2, "DescribeInstances", times=100)
    out = run(spot_event(doomed), env, clients)
    assert hook.seen == 1
    assert (out["result"], out["replacement"]) == ("handled", "detached")
    assert (out["instance_type"], out["availability_zone"]) == ("g6.xlarge", "us-east-1a")  # Auto Scaling's copy
    assert doomed not in _instances(fleet, GROUP)
    assert len(_instances(fleet, GROUP)) == 2
    assert fleet.metric_count("SpotInterruption", _placement_dims("g6.xlarge")) == 1


@pytest.mark.usefixtures("seen_table")
def test_no_topic_means_no_notification(fleet: Fleet, inbox: Inbox) -> None:
    env = SpotEnvironment.from_env(BASE_ENV)
    fleet.group(GROUP, "1-1-4")
    out = run(spot_event(_instances(fleet, GROUP)[0]), env, fleet.spot_clients())
    assert (out["replacement"], out["notified"]) == ("detached", False)
    assert inbox.messages() == []


@pytest.mark.usefixtures("seen_table")
def test_failed_notification_does_not_undo_or_fail_the_replacement(fleet: Fleet) -> None:
    missing_topic = "arn:aws:sns:us-east-1:123456789012:deleted-topic"
    env = SpotEnvironment.from_env({**BASE_ENV, "SNS_TOPIC_ARN": missing_topic})
    fleet.group(GROUP, "1-1-4")
    doomed = _instances(fleet, GROUP)[0]
    out = run(spot_event(doomed), env, fleet.spot_clients())
    assert (out["replacement"], out["notified"]) == ("detached", False)
    assert doomed not in _instances(fleet, GROUP)


@pytest.mark.usefixtures("seen_table")
def test_handler_end_to_end_via_aws_endpoint_url(
    fleet: Fleet, inbox: Inbox, monkeypatch: pytest.MonkeyPatch, moto_endpoint: str
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    for key, value in BASE_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SNS_TOPIC_ARN", inbox.topic)
    fleet.group(GROUP, "1-2-4")
    doomed = _instances(fleet, GROUP)[0]
    out = handler(spot_event(doomed), None)
    assert (out["result"], out["replacement"], out["notified"]) == ("handled", "detached", True)
    assert doomed not in _instances(fleet, GROUP)
    assert len(inbox.messages()) == 1


@pytest.mark.parametrize("name", ["ASG_NAMES", "METRIC_NAMESPACE", "ENV_NAME", "DEDUPE_TABLE"])
def test_missing_spot_variable_is_named(name: str) -> None:
    environ = dict(BASE_ENV)
    del environ[name]
    with pytest.raises(MissingEnvironmentVariableError) as info:
        SpotEnvironment.from_env(environ)
    assert info.value.variable == name


@pytest.mark.parametrize("value", ["alerts", "arn:aws:sqs:us-east-1:123456789012:q", "arn:aws:sns:us-east-1:12:x"])
def test_malformed_topic_arn_is_named(value: str) -> None:
    environ = {**BASE_ENV, "SNS_TOPIC_ARN": value}
    with pytest.raises(MalformedEnvironmentVariableError, match="SNS_TOPIC_ARN") as info:
        SpotEnvironment.from_env(environ)
    assert info.value.variable == "SNS_TOPIC_ARN"


def test_handler_without_environment_raises_named_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ASG_NAMES", "METRIC_NAMESPACE", "ENV_NAME", "SNS_TOPIC_ARN", "DEDUPE_TABLE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(MissingEnvironmentVariableError, match="ASG_NAMES"):
        handler(spot_event("i-0123456789abcdef0"), None)
