"""The scheduled-action backstop on each group, and how the Lambda keeps it from ever fighting its own decisions.

Two Auto Scaling scheduled actions act on the group without this function (as AWS Instance Scheduler does for
groups), so a broken, throttled or mis-deployed Lambda can neither leave the fleet up at night nor skip a morning:

- **Closing** (created by the CDK stack, every day at closing, in the environment's timezone): 0-0-0. Our code can
  only pause it by suspending the group's ScheduledActions process, which it does while, and only while, an `on` or
  `on-until` override (a person's explicit request) keeps the fleet up.
- **Opening** (`voicefleet-opening`, written here): a one-time action at the next workday's opening minus warm-up,
  setting exactly the size the Lambda's own start would restore. It exists only while the group is stopped and no
  override is active, so the calendar (holidays, make-up days, overrides) stays here.

Either action and the Lambda's run of the same minute reach the same end state in either order; see
tests/lambdas/test_scheduler_backstop.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lambdas.scheduler.calendar import WorkCalendar
from lambdas.scheduler.decisions import GroupState, Plan, PlannedOpening, Rules, restore_size
from lambdas.scheduler.override import Override

OPENING_ACTION = "voicefleet-opening"
SCHEDULED_ACTIONS = "ScheduledActions"
# Auto Scaling refuses a one-time action whose start time has passed; an opening closer than this is left to the run
# that fires with it.
_LEAD = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class BackstopPlan:
    suspend: bool  # the group's ScheduledActions process suspended
    opening: PlannedOpening | None  # the one-time opening action wanted, if any
    why: str

    def changes(self, group: GroupState) -> bool:
        return self.suspend != group.actions_suspended or self.opening != group.planned_opening


def plan_backstop(
    group: GroupState, plan: Plan, now: dt.datetime, calendar: WorkCalendar, rules: Rules
) -> BackstopPlan:
    """What the backstop should look like after this run; `now` is the aware local time."""
    override: Override | None = None if plan.drop_override else group.override
    if override is not None and override.mode == "on":
        return BackstopPlan(True, None, f"suspended: override '{override.describe()}' keeps the fleet up")
    if override is not None:
        return BackstopPlan(False, None, f"active; no opening planned: override '{override.describe()}'")
    if not plan.size_after(group).is_stopped:
        return BackstopPlan(False, None, "active; no opening planned: the fleet is up")
    opening = next_opening(now, calendar, rules)
    if opening is None:
        return BackstopPlan(False, None, "active; no workday within a month to plan an opening for")
    saved = plan.save_size or group.saved_size
    planned = PlannedOpening(opening.astimezone(dt.UTC), restore_size(saved, rules.default_size))
    return BackstopPlan(False, planned, f"active; opening planned at {opening.isoformat()}")


def next_opening(now: dt.datetime, calendar: WorkCalendar, rules: Rules) -> dt.datetime | None:
    """The next workday's opening minus warm-up (aware, local) at least a minute after `now`."""
    today = now.date()
    day: dt.date | None = today if calendar.verdict(today).workday else calendar.next_workday(today)
    while day is not None:
        opening = dt.datetime.combine(day, rules.window.start, tzinfo=now.tzinfo)
        if opening.astimezone(dt.UTC) >= now.astimezone(dt.UTC) + _LEAD:
            return opening
        day = calendar.next_workday(day)
    return None
