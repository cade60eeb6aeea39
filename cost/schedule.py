"""Billable fleet hours from an environment's business-hours schedule (local time, workdays, holidays, warm-up)."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from voicefleet_config import ScheduleConfig

# AWS bills a month of continuous running as 730 hours (8,760 h / 12).
ALWAYS_ON_HOURS = 730.0


@dataclass(frozen=True)
class MonthHours:
    """Scheduled hours for one month (or a typical month), and the workdays behind them."""

    hours: float
    workdays: float
    open_hours_per_day: float
    basis: str  # "2026-05", "typical month of 2026", "always on"


def running_hours_per_workday(schedule: ScheduleConfig) -> float:
    """Open hours plus the warm-up before opening (the fleet is billed from start-up)."""
    return schedule.open_hours + schedule.warmup / 60


def workdays_in_month(schedule: ScheduleConfig, year: int, month: int) -> int:
    days = calendar.monthrange(year, month)[1]
    return sum(schedule.is_workday(dt.date(year, month, d)) for d in range(1, days + 1))


def month_hours(schedule: ScheduleConfig, year: int, month: int) -> MonthHours:
    """Exact calendar: workdays of that month (holidays removed, make-up workdays added) x hours per workday."""
    workdays = workdays_in_month(schedule, year, month)
    per_day = running_hours_per_workday(schedule)
    return MonthHours(workdays * per_day, float(workdays), schedule.open_hours, f"{year:04d}-{month:02d}")


def typical_month_hours(schedule: ScheduleConfig, year: int) -> MonthHours:
    """The average month of `year` (its holidays and make-up days included)."""
    workdays = sum(workdays_in_month(schedule, year, m) for m in range(1, 13)) / 12
    per_day = running_hours_per_workday(schedule)
    return MonthHours(workdays * per_day, workdays, schedule.open_hours, f"typical month of {year}")


def always_on_hours(schedule: ScheduleConfig, year: int) -> MonthHours:
    """24/7: 730 h; workdays still matter for how many requests arrive."""
    typical = typical_month_hours(schedule, year)
    return MonthHours(ALWAYS_ON_HOURS, typical.workdays, schedule.open_hours, "always on (730 h)")


def parse_month(value: str) -> tuple[int, int]:
    """'2026-05' -> (2026, 5); ValueError with the expected form otherwise."""
    try:
        parsed = dt.datetime.strptime(value, "%Y-%m")
    except ValueError as exc:
        raise ValueError(f"--month '{value}' is not a month in YYYY-MM form (e.g. '2026-05')") from exc
    return parsed.year, parsed.month
