"""Reading groups (size, tags, backstop) from Auto Scaling and applying a Plan and a BackstopPlan to one of them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from botocore.exceptions import ClientError

from lambdas.scheduler.backstop import OPENING_ACTION, SCHEDULED_ACTIONS, BackstopPlan
from lambdas.scheduler.decisions import GroupState, Plan, PlannedOpening
from lambdas.scheduler.sizing import RunningSize
from lambdas.scheduler.tags import read_tags

if TYPE_CHECKING:
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_autoscaling.type_defs import AutoScalingGroupTypeDef

_KIND = "auto-scaling-group"
# What DeleteScheduledAction answers for an action that is gone (hashicorp/terraform-provider-aws#19446; moto the same).
_ACTION_GONE = ("ValidationError", "Scheduled action name not found")


@dataclass(frozen=True)
class TagKeys:
    size: str
    override: str


def read_groups(
    autoscaling: AutoScalingClient, names: Sequence[str], *, keys: TagKeys, timezone: ZoneInfo
) -> tuple[list[GroupState], list[str]]:
    """(the named groups that exist, in the order named; the names that do not). Tags never make this raise."""
    found: dict[str, AutoScalingGroupTypeDef] = {}
    for page in autoscaling.get_paginator("describe_auto_scaling_groups").paginate(AutoScalingGroupNames=list(names)):
        for group in page["AutoScalingGroups"]:
            found[group["AutoScalingGroupName"]] = group
    states = [_state(autoscaling, found[name], keys, timezone) for name in names if name in found]
    return states, [name for name in names if name not in found]


def _state(autoscaling: AutoScalingClient, group: AutoScalingGroupTypeDef, keys: TagKeys, tz: ZoneInfo) -> GroupState:
    name = group["AutoScalingGroupName"]
    raw = {tag["Key"]: tag.get("Value", "") for tag in group.get("Tags", []) if "Key" in tag}
    tags = read_tags(raw, size_key=keys.size, override_key=keys.override, timezone=tz)
    suspended = any(p.get("ProcessName") == SCHEDULED_ACTIONS for p in group.get("SuspendedProcesses", []))
    return GroupState(
        name=name,
        size=RunningSize(group["MinSize"], group["DesiredCapacity"], group["MaxSize"]),
        saved_size=tags.saved_size,
        override=tags.override,
        saved_text=tags.saved_text,
        problems=tags.problems,
        actions_suspended=suspended,
        planned_opening=_planned_opening(autoscaling, name),
    )


def _planned_opening(autoscaling: AutoScalingClient, group: str) -> PlannedOpening | None:
    actions = autoscaling.describe_scheduled_actions(AutoScalingGroupName=group, ScheduledActionNames=[OPENING_ACTION])
    for action in actions["ScheduledUpdateGroupActions"]:
        start = action.get("StartTime")
        sizes = (action.get("MinSize"), action.get("DesiredCapacity"), action.get("MaxSize"))
        if start is None or None in sizes:
            return None  # not one of ours as we write it: replaced at the next put
        low, desired, high = (int(value or 0) for value in sizes)
        return PlannedOpening(start.astimezone(dt.UTC), RunningSize(low, desired, high))
    return None


def apply_plan(autoscaling: AutoScalingClient, group: GroupState, plan: Plan, *, keys: TagKeys) -> None:
    """Apply in an order that makes a retry after any failed call reach the same end state.

    The baseline is saved before the group goes to 0-0-0: if the resize then fails, the retry still sees the running
    size and saves the same value again. The other way round, a retry would find 0-0-0 and lose the size.
    """
    if plan.drop_override:
        autoscaling.delete_tags(Tags=[{"ResourceId": group.name, "ResourceType": _KIND, "Key": keys.override}])
    if plan.save_size is not None:
        autoscaling.create_or_update_tags(
            Tags=[
                {
                    "ResourceId": group.name,
                    "ResourceType": _KIND,
                    "Key": keys.size,
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


def apply_backstop(autoscaling: AutoScalingClient, group: GroupState, backstop: BackstopPlan) -> None:
    """Suspend/resume the ScheduledActions process and put/delete the opening action, only where they differ."""
    if backstop.suspend and not group.actions_suspended:
        autoscaling.suspend_processes(AutoScalingGroupName=group.name, ScalingProcesses=[SCHEDULED_ACTIONS])
    if not backstop.suspend and group.actions_suspended:
        autoscaling.resume_processes(AutoScalingGroupName=group.name, ScalingProcesses=[SCHEDULED_ACTIONS])
    wanted, current = backstop.opening, group.planned_opening
    if wanted is None and current is not None:
        _delete_opening(autoscaling, group.name)
    if wanted is not None and wanted != current:
        autoscaling.put_scheduled_update_group_action(
            AutoScalingGroupName=group.name,
            ScheduledActionName=OPENING_ACTION,
            StartTime=wanted.at,
            MinSize=wanted.size.min,
            MaxSize=wanted.size.max,
            DesiredCapacity=wanted.size.desired,
        )


def _delete_opening(autoscaling: AutoScalingClient, group: str) -> None:
    """Delete the opening action; one already gone counts as deleted.

    The start schedule and the opening action fire in the same minute by design: Auto Scaling may run the one-time
    action (and delete it) between our read and this delete. The fleet is then at the size the action set, which is
    the size the start restores, so there is nothing left to do.
    """
    try:
        autoscaling.delete_scheduled_action(AutoScalingGroupName=group, ScheduledActionName=OPENING_ACTION)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if (error.get("Code"), error.get("Message")) != _ACTION_GONE:
            raise
