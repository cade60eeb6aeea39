"""What the scheduler does to one group, as a pure function of the action, the local day, the group and the clock.

`start` and `stop` are the daily runs; `reconcile` (every 15 minutes) works out whether the fleet should be up right
now (override, workday, open window) and then takes the same start or stop steps, so an `on-until` ends on time and
an override set mid-day takes effect within 15 minutes.

A group is *stopped* when its desired capacity is 0, whatever its bounds (target tracking may have scaled it in to
0-0-1: it serves nothing). A stop sets 0-0-0, so nothing can launch overnight. A start restores the *baseline*: the
saved (or configured) bounds with the configured opening desired size, never yesterday's target-tracking peak; and
it does not launch a stopped fleet that could not finish booting before it is due down again (closing, or the end
of an `on-until`).

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
from lambdas.scheduler.tags import TagProblem

Action = Literal["start", "stop", "reconcile"]
ACTIONS: tuple[Action, ...] = ("start", "stop", "reconcile")
Result = Literal["started", "stopped", "unchanged", "skipped"]


@dataclass(frozen=True)
class PlannedOpening:
    """The one-time Auto Scaling scheduled action that brings the fleet up at the next opening, Lambda or not."""

    at: dt.datetime  # aware, UTC
    size: RunningSize


@dataclass(frozen=True)
class GroupState:
    """A group as read from Auto Scaling: its size, tags, and the state of its scheduled-action backstop."""

    name: str
    size: RunningSize
    saved_size: RunningSize | None
    override: Override | None
    saved_text: str | None = None  # the saved-size tag's raw value (None: no tag)
    problems: tuple[TagProblem, ...] = ()
    actions_suspended: bool = False  # the group's ScheduledActions process
    planned_opening: PlannedOpening | None = None


@dataclass(frozen=True)
class Rules:
    """What decide() needs from the environment."""

    default_size: RunningSize
    window: OpenWindow
    boot: dt.timedelta


@dataclass(frozen=True)
class Plan:
    """The changes for one group, applied in order: drop the expired override, save the baseline, set the size."""

    result: Result
    reason: str
    detail: str
    target: RunningSize | None = None
    save_size: RunningSize | None = None
    drop_override: bool = False

    def size_after(self, group: GroupState) -> RunningSize:
        return self.target or group.size


def decide(action: Action, group: GroupState, day: DayVerdict, now: dt.datetime, rules: Rules) -> Plan:
    """`now` is the aware local time of the run; `day` is the verdict on its date."""
    drop = group.override is not None and group.override.expired(now)
    override = None if drop else group.override
    note = f" (override '{group.override.describe()}' expired and is removed)" if drop and group.override else ""
    if action == "start":
        plan = _start(group, day, now, override, rules)
    elif action == "stop":
        plan = _stop(group, override)
    else:
        plan = _reconcile(group, day, now, override, rules)
    save = _baseline_to_save(group, plan, rules.default_size)
    return Plan(plan.result, plan.reason, plan.detail + note, plan.target, save, drop)


def restore_size(saved: RunningSize | None, default: RunningSize) -> RunningSize:
    """What a start brings a stopped group to: the saved baseline, else the configured opening size."""
    return saved.baseline(default) if saved is not None else default


def _start(group: GroupState, day: DayVerdict, now: dt.datetime, override: Override | None, rules: Rules) -> Plan:
    if override is not None and override.mode == "off":
        return Plan("skipped", "override-off", "override 'off' keeps the fleet down")
    if override is None and not day.workday:
        return Plan("skipped", day.reason, day.describe())
    if override is not None:
        why = f"override '{override.describe()}'"
        return _bring_up(group, rules, "override-on", why, now, _override_deadline(override, day, now, rules.window))
    return _bring_up(group, rules, day.reason, day.describe(), now, _closing(now, rules.window))


def _stop(group: GroupState, override: Override | None) -> Plan:
    if override is not None and override.mode == "on":
        return Plan("skipped", "override-on", f"override '{override.describe()}' keeps the fleet up")
    return _bring_down(group, "closing", "")


def _reconcile(group: GroupState, day: DayVerdict, now: dt.datetime, override: Override | None, rules: Rules) -> Plan:
    """Move the group to the state wanted now, with the same start/stop steps; nothing if it is already there."""
    up, reason, why, deadline = _wanted(day, now, rules.window, override)
    if not up:
        return _bring_down(group, reason, why)
    if not group.size.is_stopped:
        # Up already. A running group's size belongs to its scaling policy and to people: raising it back to the
        # saved size every 15 minutes would undo each scale-in. Only the daily start raises bounds (once a day).
        return Plan("unchanged", "already-running", f"{why}; size {group.size} is running")
    return _bring_up(group, rules, reason, why, now, deadline)


def _wanted(
    day: DayVerdict, now: dt.datetime, window: OpenWindow, override: Override | None
) -> tuple[bool, str, str, dt.datetime | None]:
    """(fleet wanted up, reason, why, when it is next due down): an active override decides; otherwise a workday
    inside the open window."""
    if override is not None:
        deadline = _override_deadline(override, day, now, window)
        return override.mode == "on", f"override-{override.mode}", f"override '{override.describe()}'", deadline
    if not day.workday:
        return False, day.reason, day.describe(), None
    if window.contains(now.time()):
        why = f"{day.describe()}; {now:%H:%M} is inside the open window {window}"
        return True, day.reason, why, _closing(now, window)
    return False, "outside-hours", f"{day.describe()}; {now:%H:%M} is outside the open window {window}", None


def _closing(now: dt.datetime, window: OpenWindow) -> dt.datetime:
    return dt.datetime.combine(now.date(), window.end, tzinfo=now.tzinfo)


def _override_deadline(override: Override, day: DayVerdict, now: dt.datetime, window: OpenWindow) -> dt.datetime | None:
    """When an `on` override lets the fleet go down: never for `on`; for `on-until`, its time, or closing if the
    schedule keeps the fleet up longer anyway."""
    if override.until is None:
        return None
    if day.workday and window.contains(now.time()):
        return max(override.until, _closing(now, window), key=lambda moment: moment.astimezone(dt.UTC))
    return override.until


def _bring_up(
    group: GroupState, rules: Rules, reason: str, why: str, now: dt.datetime, deadline: dt.datetime | None
) -> Plan:
    """The start: each bound raised to the restore size (saved baseline or configured), never lowered."""
    restore = restore_size(group.saved_size, rules.default_size)
    source = "saved baseline" if group.saved_size is not None else "configured size"
    target = group.size.at_least(restore)
    if target == group.size:
        return Plan("unchanged", "already-running", f"{why}; size {group.size} already covers {source} {restore}")
    if group.size.is_stopped and deadline is not None and now.astimezone(dt.UTC) + rules.boot > deadline:
        minutes = int(rules.boot.total_seconds() // 60)
        return Plan(
            "unchanged",
            "too-late-to-start",
            f"{why}; a fleet launched at {now:%H:%M} needs {minutes} min to boot and is due down at "
            f"{deadline.astimezone(now.tzinfo):%H:%M}: not started",
        )
    return Plan("started", reason, f"{why}; {group.size} -> {target} from {source} {restore}", target=target)


def _bring_down(group: GroupState, reason: str, why: str) -> Plan:
    """The stop: 0-0-0 (the baseline is saved first), also for a group scaled in to desired 0 with a max above 0."""
    prefix = f"{why}; " if why else ""
    if group.size.is_zero:
        return Plan("unchanged", "already-stopped", f"{prefix}size is already 0-0-0")
    return Plan("stopped", reason, f"{prefix}{group.size} -> {ZERO}", target=ZERO)


def _baseline_to_save(group: GroupState, plan: Plan, default: RunningSize) -> RunningSize | None:
    """The baseline of the size running before a stop, or after any other run; written only when the tag differs.

    Saving while the fleet runs (not only at the stop) means the closing backstop, which sets 0-0-0 without saving
    anything, loses nothing when it runs before the Lambda's stop.
    """
    stopping = plan.target is not None and plan.target.is_zero
    running = group.size if stopping else plan.size_after(group)
    if running.is_zero:
        return None
    baseline = running.baseline(default)
    return baseline if str(baseline) != group.saved_text else None
