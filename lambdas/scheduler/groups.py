"""Reading groups (size and tags) from Auto Scaling and applying a Plan to one of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from lambdas.scheduler.decisions import GroupState, Plan
from lambdas.scheduler.errors import GroupNotFoundError, MalformedTagError
from lambdas.scheduler.override import Override, OverrideFormatError
from lambdas.scheduler.sizing import RunningSize, SizeFormatError

if TYPE_CHECKING:
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_autoscaling.type_defs import AutoScalingGroupTypeDef


def read_groups(
    autoscaling: AutoScalingClient,
    names: Sequence[str],
    *,
    size_tag_key: str,
    override_tag_key: str,
    timezone: ZoneInfo,
) -> list[GroupState]:
    """All named groups, in the order named; raises before anything is changed if one is missing or mis-tagged."""
    found: dict[str, AutoScalingGroupTypeDef] = {}
    for page in autoscaling.get_paginator("describe_auto_scaling_groups").paginate(AutoScalingGroupNames=list(names)):
        for group in page["AutoScalingGroups"]:
            found[group["AutoScalingGroupName"]] = group
    missing = [name for name in names if name not in found]
    if missing:
        raise GroupNotFoundError(f"Auto Scaling group(s) {', '.join(missing)} not found (check ASG_NAMES)")
    return [_state(found[name], size_tag_key, override_tag_key, timezone) for name in names]


def _state(group: AutoScalingGroupTypeDef, size_key: str, override_key: str, tz: ZoneInfo) -> GroupState:
    name = group["AutoScalingGroupName"]
    tags = {tag["Key"]: tag.get("Value", "") for tag in group.get("Tags", []) if "Key" in tag}
    saved: RunningSize | None = None
    override: Override | None = None
    if size_key in tags:
        try:
            saved = RunningSize.parse(tags[size_key])
        except SizeFormatError as exc:
            raise MalformedTagError(f"group {name}: tag {size_key}: {exc}; fix or delete the tag") from exc
    if override_key in tags:
        try:
            override = Override.parse(tags[override_key], tz)
        except OverrideFormatError as exc:
            raise MalformedTagError(f"group {name}: tag {override_key}: {exc}; fix or delete the tag") from exc
    size = RunningSize(group["MinSize"], group["DesiredCapacity"], group["MaxSize"])
    return GroupState(name=name, size=size, saved_size=saved, override=override)


def apply_plan(
    autoscaling: AutoScalingClient, group: GroupState, plan: Plan, *, size_tag_key: str, override_tag_key: str
) -> None:
    """Apply in an order that makes a retry after any failed call reach the same end state.

    The size is saved before the group goes to 0-0-0: if the resize then fails, the retry still sees the running
    size and saves the same value again. The other way round, a retry would find 0-0-0 and lose the size.
    """
    kind = "auto-scaling-group"
    if plan.drop_override:
        autoscaling.delete_tags(Tags=[{"ResourceId": group.name, "ResourceType": kind, "Key": override_tag_key}])
    if plan.save_size is not None:
        autoscaling.create_or_update_tags(
            Tags=[
                {
                    "ResourceId": group.name,
                    "ResourceType": kind,
                    "Key": size_tag_key,
                    "Value": str(plan.save_size),
                    "PropagateAtLaunch": False,
                }
            ]
        )
    if plan.target is not None:
        autoscaling.update_auto_scaling_group(
            AutoScalingGroupName=group.name,
            MinSize=plan.target.min,
            MaxSize=plan.target.max,
            DesiredCapacity=plan.target.desired,
        )
