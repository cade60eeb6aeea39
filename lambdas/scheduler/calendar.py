"""Which local dates are workdays: configured weekdays, minus holidays, plus make-up (extra) workdays."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

WEEKDAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

DayReason = Literal["weekday", "extra-workday", "holiday", "weekend"]


@dataclass(frozen=True)
class DayVerdict:
    """Whether `day` is a workday, with the rule that decided it."""

    day: dt.date
    workday: bool
    reason: DayReason

    def describe(self) -> str:
        weekday = WEEKDAY_NAMES[self.day.weekday()]
        verdict = "a workday" if self.workday else "not a workday"
        return f"{self.day.isoformat()} ({weekday}) is {verdict}: {self.reason}"


@dataclass(frozen=True)
class WorkCalendar:
    """The same rule as voicefleet_config's ScheduleConfig.is_workday, restated here because Lambdas ship boto3 only."""

    weekdays: frozenset[int]  # date.weekday() numbers, Monday = 0
    holidays: frozenset[dt.date]
    extra_workdays: frozenset[dt.date]

    def verdict(self, day: dt.date) -> DayVerdict:
        # An extra workday wins over everything: China's make-up Saturdays are workdays although Saturday is not.
        if day in self.extra_workdays:
            return DayVerdict(day, True, "extra-workday")
        if day in self.holidays:
            return DayVerdict(day, False, "holiday")
        if day.weekday() in self.weekdays:
            return DayVerdict(day, True, "weekday")
        return DayVerdict(day, False, "weekend")
