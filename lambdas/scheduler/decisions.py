"""What the scheduler does to one group, as a pure function of the action, the local day, the group and the clock.

Kept free of boto3 so the whole decisions table (docs/lambdas.md) reads from this one file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from lambdas.scheduler.calendar import DayVerdict
from lambdas.scheduler.override import Override
from lambdas.scheduler.sizing import ZERO, RunningSize

Action = Literal["start", "stop"]
Result = Literal["started", "stopped", "unchanged", "skipped"]


@dataclass(frozen=True)
class GroupState:
    """A group as read from Auto Scaling: its size now, its saved running size and its override, if tagged."""

    name: str
    size: RunningSize
    saved_size: RunningSize | None
    override: Override | None


@dataclass(frozen=True)
class Plan:
    """The changes for one group, applied in order: drop the expired override, save the size, set the size."""

    result: Result
    reason: str
    detail: str
    target: RunningSize | None = None
    save_size: RunningSize | None = None
    drop_override: bool = False


def decide(action: Action, group: GroupState, day: DayVerdict, now: dt.datetime, default_size: RunningSize) -> Plan:
    drop = group.override is not None and group.override.expired(now)
    override = None if drop else group.override
    note = f" (override '{group.override.describe()}' expired and is removed)" if drop and group.override else ""
    plan = _start(group, day, override, default_size) if action == "start" else _stop(group, override)
    return Plan(plan.result, plan.reason, plan.detail + note, plan.target, plan.save_size, drop)


def _start(group: GroupState, day: DayVerdict, override: Override | None, default_size: RunningSize) -> Plan:
    if override is not None and override.mode == "off":
        return Plan("skipped", "override-off", "override 'off' keeps the fleet down")
    if override is None and not day.workday:
        return Plan("skipped", day.reason, day.describe())
    why = f"override '{override.describe()}'" if override is not None else day.describe()
    reason = "override-on" if override is not None else day.reason
    saved, source = (group.saved_size, "saved tag") if group.saved_size else (default_size, "default size")
    target = group.size.at_least(saved)
    if target == group.size:
        return Plan("unchanged", "already-running", f"{why}; size {group.size} already covers {source} {saved}")
    return Plan("started", reason, f"{why}; {group.size} -> {target} from {source} {saved}", target=target)


def _stop(group: GroupState, override: Override | None) -> Plan:
    if override is not None and override.mode == "on":
        return Plan("skipped", "override-on", f"override '{override.describe()}' keeps the fleet up")
    if group.size.is_zero:
        # The saved tag is left alone: it still holds the size from the last real stop.
        return Plan("unchanged", "already-stopped", "size is already 0-0-0")
    return Plan("stopped", "closing", f"saved {group.size}, set {ZERO}", target=ZERO, save_size=group.size)
