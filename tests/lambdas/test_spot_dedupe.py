"""A Spot event delivered more than once is handled once: counted once, notified once, detached once.

Real Auto Scaling keeps a detached instance in the group as "Detaching" for a while, so a second delivery used to
find it still a member and count and notify again. moto detaches at once; `HeldDetaching` wraps the moto client to
hold that one state (the only thing here moto cannot do); every other call, and all the handler's logic, is real.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lambdas.spot.environment import SpotEnvironment
from lambdas.spot.events import REBALANCE
from lambdas.spot.handler import SpotClients, run

from .conftest import Fleet, client_with, throttle
from .test_spot_handler import BASE_ENV, GROUP, Inbox, spot_event


class HeldDetaching:
    """The moto Auto Scaling client, except that a detached instance keeps answering as "Detaching" in its group."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.detaching: dict[str, dict[str, Any]] = {}

    def detach_instances(self, **kwargs: Any) -> Any:
        before = self._client.describe_auto_scaling_instances(InstanceIds=kwargs["InstanceIds"])
        out = self._client.detach_instances(**kwargs)
        for member in before["AutoScalingInstances"]:
            self.detaching[member["InstanceId"]] = {**member, "LifecycleState": "Detaching"}
        return out

    def describe_auto_scaling_instances(self, **kwargs: Any) -> Any:
        out = self._client.describe_auto_scaling_instances(**kwargs)
        known = {member["InstanceId"] for member in out["AutoScalingInstances"]}
        held = [self.detaching[i] for i in kwargs["InstanceIds"] if i in self.detaching and i not in known]
        return {**out, "AutoScalingInstances": [*out["AutoScalingInstances"], *held]}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.fixture
def inbox(fleet: Fleet) -> Inbox:
    return Inbox(fleet)


@pytest.fixture
def env(fleet: Fleet, inbox: Inbox) -> SpotEnvironment:
    fleet.dynamodb.create_table(
        TableName=BASE_ENV["DEDUPE_TABLE"],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return SpotEnvironment.from_env({**BASE_ENV, "SNS_TOPIC_ARN": inbox.topic})


def _clients(fleet: Fleet, autoscaling: Any) -> SpotClients:
    return SpotClients(
        autoscaling=autoscaling, ec2=fleet.ec2, cloudwatch=fleet.cloudwatch, sns=fleet.sns, dynamodb=fleet.dynamodb
    )


def _dims() -> dict[str, str]:
    return {"Environment": "prod", "InstanceType": "g5.xlarge", "AvailabilityZone": "us-east-1a"}


def _doomed(fleet: Fleet) -> str:
    fleet.group(GROUP, "1-2-4")
    return str(fleet.describe(GROUP)["Instances"][0]["InstanceId"])


def test_the_wrapper_holds_detaching_like_real_auto_scaling(fleet: Fleet) -> None:
    """What made the duplicate count possible: after the detach, the instance still answers as a member."""
    doomed = _doomed(fleet)
    held = HeldDetaching(fleet.autoscaling)
    held.detach_instances(InstanceIds=[doomed], AutoScalingGroupName=GROUP, ShouldDecrementDesiredCapacity=False)
    [member] = held.describe_auto_scaling_instances(InstanceIds=[doomed])["AutoScalingInstances"]
    assert (member["AutoScalingGroupName"], member["LifecycleState"]) == (GROUP, "Detaching")


def test_second_delivery_while_detaching_is_counted_and_notified_once(
    fleet: Fleet, env: SpotEnvironment, inbox: Inbox
) -> None:
    """Regression: the second delivery of one event was counted and notified again while the instance was Detaching."""
    doomed = _doomed(fleet)
    clients = _clients(fleet, HeldDetaching(fleet.autoscaling))
    first = run(spot_event(doomed), env, clients)
    second = run(spot_event(doomed), env, clients)
    assert (first["result"], first["replacement"]) == ("handled", "detached")
    assert (second["result"], second["reason"]) == ("ignored", "duplicate")
    assert f"event#{spot_event(doomed)['id']}" in second["detail"]
    assert fleet.metric_count("SpotInterruption", _dims()) == 1
    assert fleet.metric_count("SpotEventIgnored", {"Environment": "prod", "Reason": "duplicate"}) == 1
    assert len(inbox.messages()) == 1


def test_same_warning_under_another_event_id_is_a_duplicate(fleet: Fleet, env: SpotEnvironment, inbox: Inbox) -> None:
    doomed = _doomed(fleet)
    clients = _clients(fleet, HeldDetaching(fleet.autoscaling))
    run(spot_event(doomed, event_id="11111111-0000-0000-0000-000000000001"), env, clients)
    again = run(spot_event(doomed, event_id="11111111-0000-0000-0000-000000000002"), env, clients)
    assert (again["result"], again["reason"]) == ("ignored", "duplicate")
    assert f"instance#{doomed}#interruption#terminate" in again["detail"]
    assert fleet.metric_count("SpotInterruption", _dims()) == 1
    assert len(inbox.messages()) == 1


def test_rebalance_then_interruption_are_two_events(fleet: Fleet, env: SpotEnvironment, inbox: Inbox) -> None:
    doomed = _doomed(fleet)
    clients = _clients(fleet, HeldDetaching(fleet.autoscaling))
    for _ in range(2):
        run(spot_event(doomed, REBALANCE, event_id="22222222-0000-0000-0000-000000000001"), env, clients)
    out = run(spot_event(doomed, event_id="22222222-0000-0000-0000-000000000002"), env, clients)
    assert out["replacement"] == "detached"
    assert fleet.metric_count("RebalanceRecommendation", _dims()) == 1
    assert fleet.metric_count("SpotInterruption", _dims()) == 1
    assert len(inbox.messages()) == 1


def test_a_failed_handling_releases_its_claim_so_a_redelivery_can_finish(
    fleet: Fleet, env: SpotEnvironment, moto_endpoint: str
) -> None:
    doomed = _doomed(fleet)
    no_retries = client_with(
        moto_endpoint, "autoscaling", Config(retries={"mode": "standard", "total_max_attempts": 1})
    )
    throttle(no_retries, "DetachInstances", times=1)
    with pytest.raises(ClientError, match="Throttling"):
        run(spot_event(doomed), env, _clients(fleet, no_retries))
    assert fleet.dynamodb.scan(TableName=BASE_ENV["DEDUPE_TABLE"])["Items"] == []
    out = run(spot_event(doomed), env, _clients(fleet, no_retries))
    assert (out["result"], out["replacement"]) == ("handled", "detached")


def test_an_unreachable_dedupe_table_does_not_stop_the_replacement(
    fleet: Fleet, inbox: Inbox, capsys: pytest.CaptureFixture[str]
) -> None:
    env = SpotEnvironment.from_env({**BASE_ENV, "DEDUPE_TABLE": "no-such-table", "SNS_TOPIC_ARN": inbox.topic})
    doomed = _doomed(fleet)
    out = run(spot_event(doomed), env, _clients(fleet, fleet.autoscaling))
    assert (out["result"], out["replacement"]) == ("handled", "detached")
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"voicefleet.spot"' in x]
    assert any(line["level"] == "ERROR" and "dedupe table unavailable" in line["message"] for line in lines)


def test_items_expire_after_a_day(fleet: Fleet, env: SpotEnvironment) -> None:
    """The TTL attribute infra/spot.py names is what the handler writes (epoch seconds, one day ahead)."""
    from infra.spot import DEDUPE_TTL_ATTRIBUTE

    doomed = _doomed(fleet)
    run(spot_event(doomed), env, _clients(fleet, fleet.autoscaling))
    items = fleet.dynamodb.scan(TableName=BASE_ENV["DEDUPE_TABLE"])["Items"]
    assert len(items) == 2
    assert all(DEDUPE_TTL_ATTRIBUTE in item and int(item[DEDUPE_TTL_ATTRIBUTE]["N"]) > 0 for item in items)
