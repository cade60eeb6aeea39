"""The two EventBridge events this Lambda handles, parsed into one typed value.

Shapes (EC2 User Guide, "Spot Instance interruption notices" and "EC2 instance rebalance recommendations"):
  {"source": "aws.ec2", "detail-type": "EC2 Spot Instance Interruption Warning",
   "detail": {"instance-id": "i-...", "instance-action": "terminate" | "stop" | "hibernate"}, "region": ..., ...}
  {"source": "aws.ec2", "detail-type": "EC2 Instance Rebalance Recommendation",
   "detail": {"instance-id": "i-..."}, ...}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

INTERRUPTION = "EC2 Spot Instance Interruption Warning"
REBALANCE = "EC2 Instance Rebalance Recommendation"
_INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8,17}$")

Kind = Literal["interruption", "rebalance"]


class MalformedSpotEventError(ValueError):
    """The event is not one of the two handled shapes; it is logged and ignored, never retried."""


@dataclass(frozen=True)
class SpotEvent:
    kind: Kind
    instance_id: str
    instance_action: str | None  # interruption only: what EC2 will do to the instance
    event_time: str | None
    event_id: str | None = None  # EventBridge's id: the same for every delivery of one event

    @property
    def metric_name(self) -> str:
        return "SpotInterruption" if self.kind == "interruption" else "RebalanceRecommendation"


def parse_event(event: object) -> SpotEvent:
    if not isinstance(event, Mapping):
        raise MalformedSpotEventError(f"event is a {type(event).__name__}, not an object")
    if event.get("source") != "aws.ec2":
        raise MalformedSpotEventError(f"source is {event.get('source')!r}, expected 'aws.ec2'")
    detail_type = event.get("detail-type")
    if detail_type not in (INTERRUPTION, REBALANCE):
        raise MalformedSpotEventError(f"detail-type {detail_type!r} is not handled")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise MalformedSpotEventError("detail is missing or not an object")
    instance_id = detail.get("instance-id")
    if not isinstance(instance_id, str) or not _INSTANCE_ID.match(instance_id):
        raise MalformedSpotEventError(f"detail.instance-id {instance_id!r} is not an instance id")
    action = detail.get("instance-action")
    time = event.get("time")
    event_id = event.get("id")
    return SpotEvent(
        kind="interruption" if detail_type == INTERRUPTION else "rebalance",
        instance_id=instance_id,
        instance_action=action if isinstance(action, str) else None,
        event_time=time if isinstance(time, str) else None,
        event_id=event_id if isinstance(event_id, str) and event_id else None,
    )
