"""What the scheduler does to one group, as a pure function of the action, the local day, the group and the clock.

`start` and `stop` are the daily runs; `reconcile` (every 15 minutes) works out whether the fleet should be up right
now (override, workday, open window) and then takes the same start or stop steps, so an `on-until` ends on time and
an override set mid-day takes effect within 15 minutes.

Kept free of boto3 so the whole decisions table (docs/lambdas.md) reads from this one file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from lambdas.scheduler.calendar import DayVerdict
from lambdas.scheduler.hours import OpenWindow
from lambdas.scheduler.override import Override
from lambdas.scheduler.sizing import ZERO, RunningSize

Action = Literal["start", "stop", "reconcile"]
ACTIONS: tuple[Action, ...] = ("start", "stop", "reconcile")
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


def decide(
    action: Action,
    group: GroupState,
    day: DayVerdict,
    now: dt.datetime,
    default_size: RunningSize,
    window: OpenWindow,
) -> Plan:
    """`now` is the aware local time of the run; `day` is the verdict on its date."""
    drop = group.override is not None and group.override.expired(now)
    override = None if drop else group.override
    note = f" (override '{group.override.describe()}' expired and is removed)" if drop and group.override else ""
    if action == "start":
        plan = _start(group, day, override, default_size)
    elif action == "stop":
        plan = _stop(group, override)
    else:
        plan = _reconcile(group, day, now, window, override, default_size)
    return Plan(plan.result, plan.reason, plan.detail + note, plan.target, plan.save_size, drop)


def _start(group: GroupState, day: DayVerdict, override: Override | None, default_size: RunningSize) -> Plan:
    if override is not None and override.mode == "off":
        return Plan("skipped", "override-off", "override 'off' keeps the fleet down")
    if override is None and not day.workday:
        return Plan("skipped", day.reason, day.describe())
    why = f"override '{override.describe()}'" if override is not None else day.describe()
    reason = "override-on" if override is not None else day.reason
    return _bring_up(group, default_size, reason, why)


def _stop(group: GroupState, override: Override | None) -> Plan:
    if override is not None and override.mode == "on":
        return Plan("skipped", "override-on", f"override '{override.describe()}' keeps the fleet up")
    return _bring_down(group, "closing", "")


def _reconcile(
    group: GroupState,
    day: DayVerdict,
    now: dt.datetime,
    window: OpenWindow,
    override: Override | None,
    default_size: RunningSize,
) -> Plan:
    """Move the group to the state wanted now, with the same start/stop steps; nothing if it is already there."""
    up, reason, why = _wanted(day, now, window, override)
    if not up:
        return _bring_down(group, reason, why)
    if not group.size.is_zero:
        # Up already. A running group's size belongs to its scaling policy and to people: raising it back to the
        # saved size every 15 minutes would undo each scale-in. Only the daily start raises bounds (once a day).
        return Plan("unchanged", "already-running", f"{why}; size {group.size} is running")
    return _bring_up(group, default_size, reason, why)


def _wanted(day: DayVerdict, now: dt.datetime, window: OpenWindow, override: Override | None) -> tuple[bool, str, str]:
    """(fleet wanted up, reason, why): an active override decides; otherwise a workday inside the open window."""
    if override is not None:
        return override.mode == "on", f"override-{override.mode}", f"override '{override.describe()}'"
    if not day.workday:
        return False, day.reason, day.describe()
    if window.contains(now.time()):
        return True, day.reason, f"{day.describe()}; {now:%H:%M} is inside the open window {window}"
    return False, "outside-hours", f"{day.describe()}; {now:%H:%M} is outside the open window {window}"


def _bring_up(group: GroupState, default_size: RunningSize, reason: str, why: str) -> Plan:
    """The start: each bound raised to the saved (or default) size, never lowered."""
    saved, source = (group.saved_size, "saved tag") if group.saved_size else (default_size, "default size")
    target = group.size.at_least(saved)
    if target == group.size:
        return Plan("unchanged", "already-running", f"{why}; size {group.size} already covers {source} {saved}")
    return Plan("started", reason, f"{why}; {group.size} -> {target} from {source} {saved}", target=target)


def _bring_down(group: GroupState, reason: str, why: str) -> Plan:
    """The stop: save the running size, then 0-0-0."""
    prefix = f"{why}; " if why else ""
    if group.size.is_zero:
        # The saved tag is left alone: it still holds the size from the last real stop.
        return Plan("unchanged", "already-stopped", f"{prefix}size is already 0-0-0")
    return Plan("stopped", reason, f"{prefix}saved {group.size}, set {ZERO}", target=ZERO, save_size=group.size)
