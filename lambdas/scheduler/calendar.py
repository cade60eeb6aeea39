"""Which local dates are workdays: configured weekdays, minus holidays, plus make-up (extra) workdays.

The holidays and make-up days cover the years in CALENDAR_YEARS only. A day outside them is decided as a plain
weekday, and the verdict says so (`covered` false), so the handler can log it and count `CalendarUncovered`: a
calendar that has run out must never pass silently for a correct one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

WEEKDAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

DayReason = Literal["weekday", "extra-workday", "holiday", "weekend", "uncovered-weekday", "uncovered-weekend"]


@dataclass(frozen=True)
class DayVerdict:
    """Whether `day` is a workday, with the rule that decided it."""

    day: dt.date
    workday: bool
    reason: DayReason

    @property
    def covered(self) -> bool:
        return not self.reason.startswith("uncovered")

    def describe(self) -> str:
        weekday = WEEKDAY_NAMES[self.day.weekday()]
        verdict = "a workday" if self.workday else "not a workday"
        note = f" (the calendar does not cover {self.day.year}: decided as a plain weekday)" if not self.covered else ""
        return f"{self.day.isoformat()} ({weekday}) is {verdict}: {self.reason}{note}"


@dataclass(frozen=True)
class WorkCalendar:
    """The same rule as voicefleet_config's ScheduleConfig.is_workday, restated here because Lambdas ship boto3 only."""

    weekdays: frozenset[int]  # date.weekday() numbers, Monday = 0
    holidays: frozenset[dt.date]
    extra_workdays: frozenset[dt.date]
    years: frozenset[int] | None = None  # years the dates cover; None: every year (no public holidays configured)

    def verdict(self, day: dt.date) -> DayVerdict:
        plain = day.weekday() in self.weekdays
        if self.years is not None and day.year not in self.years:
            return DayVerdict(day, plain, "uncovered-weekday" if plain else "uncovered-weekend")
        # An extra workday wins over everything: China's make-up Saturdays are workdays although Saturday is not.
        if day in self.extra_workdays:
            return DayVerdict(day, True, "extra-workday")
        if day in self.holidays:
            return DayVerdict(day, False, "holiday")
        return DayVerdict(day, plain, "weekday" if plain else "weekend")

    def next_workday(self, after: dt.date, horizon_days: int = 31) -> dt.date | None:
        """The first workday strictly after `after`, looking `horizon_days` ahead (None if there is none)."""
        for offset in range(1, horizon_days + 1):
            day = after + dt.timedelta(days=offset)
            if self.verdict(day).workday:
                return day
        return None
