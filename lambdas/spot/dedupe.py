"""At most one handling per Spot event: a conditional write per key in a DynamoDB table, with a one-day TTL.

Two keys per event: its EventBridge id (a redelivery of the same event) and its instance + kind + action (the same
warning sent again under another id). EventBridge delivers at least once, and a detached instance stays "Detaching"
for a while, still a member of the group, so without this a second delivery is counted and notified again.

A claim is released when the handling fails, so a redelivery can try again. If the table cannot be reached, the
event is handled anyway (logged at ERROR): a replacement started twice is harmless, one not started is not.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.common.jsonlog import log
from lambdas.spot.events import SpotEvent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TTL = dt.timedelta(days=1)
_TAKEN = "ConditionalCheckFailedException"


@dataclass(frozen=True)
class Claim:
    keys: tuple[str, ...]  # what this invocation wrote (released if the handling fails)
    duplicate_of: str | None  # the key some earlier delivery already holds


def event_keys(spot: SpotEvent) -> tuple[str, ...]:
    instance = f"instance#{spot.instance_id}#{spot.kind}#{spot.instance_action or '-'}"
    return (f"event#{spot.event_id}", instance) if spot.event_id else (instance,)


def claim(dynamodb: DynamoDBClient, table: str, spot: SpotEvent, now: dt.datetime, logger: logging.Logger) -> Claim:
    """Write each key if absent; the first key already present makes the event a duplicate."""
    written: list[str] = []
    expires = str(int((now + TTL).timestamp()))
    for key in event_keys(spot):
        try:
            dynamodb.put_item(
                TableName=table,
                Item={
                    "pk": {"S": key},
                    "expires_at": {"N": expires},
                    "first_event": {"S": spot.event_id or "-"},
                    "seen_at": {"S": now.isoformat()},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == _TAKEN:
                return Claim(tuple(written), duplicate_of=key)
            return _unavailable(written, exc, logger)
        except BotoCoreError as exc:
            return _unavailable(written, exc, logger)
        written.append(key)
    return Claim(tuple(written), duplicate_of=None)


def release(dynamodb: DynamoDBClient, table: str, keys: tuple[str, ...], logger: logging.Logger) -> None:
    """Best effort: a claim left behind only turns a redelivery of a failed event into a duplicate."""
    for key in keys:
        try:
            dynamodb.delete_item(TableName=table, Key={"pk": {"S": key}})
        except (ClientError, BotoCoreError) as exc:
            log(logger, "dedupe claim not released", level=logging.ERROR, key=key, error=str(exc))


def _unavailable(written: list[str], exc: Exception, logger: logging.Logger) -> Claim:
    log(logger, "dedupe table unavailable: handling the event anyway", level=logging.ERROR, error=str(exc))
    return Claim(tuple(written), duplicate_of=None)
