"""The scheduler Lambda's configuration, read once from its environment variables (set by the CDK stack)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lambdas.common.env import MalformedEnvironmentVariableError, csv_list, current_environ, required
from lambdas.scheduler.calendar import WEEKDAY_NAMES, WorkCalendar
from lambdas.scheduler.decisions import Rules
from lambdas.scheduler.hours import OpenWindow, WindowFormatError
from lambdas.scheduler.sizing import RunningSize, SizeFormatError

# CALENDAR_YEARS for a calendar without public holidays: nothing in it can run out.
EVERY_YEAR = "*"


@dataclass(frozen=True)
class SchedulerEnvironment:
    asg_names: tuple[str, ...]
    timezone: ZoneInfo
    calendar: WorkCalendar
    open_window: OpenWindow
    size_tag_key: str
    default_size: RunningSize
    override_tag_key: str
    metric_namespace: str
    env_name: str
    boot: dt.timedelta

    @property
    def rules(self) -> Rules:
        return Rules(default_size=self.default_size, window=self.open_window, boot=self.boot)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SchedulerEnvironment:
        """Build from ASG_NAMES, TIMEZONE, WEEKDAYS, HOLIDAYS, EXTRA_WORKDAYS, CALENDAR_YEARS, OPEN_WINDOW,
        BOOT_MINUTES, SIZE_TAG_KEY, DEFAULT_SIZE, OVERRIDE_TAG_KEY, METRIC_NAMESPACE, ENV_NAME; raises an
        EnvironmentVariableError naming the first bad one."""
        env = current_environ() if environ is None else environ
        holidays = _dates(env, "HOLIDAYS")
        extra = _dates(env, "EXTRA_WORKDAYS")
        both = sorted(holidays & extra)
        if both:
            raise MalformedEnvironmentVariableError(
                "EXTRA_WORKDAYS", f"{both[0].isoformat()} is also in HOLIDAYS (a day cannot be both)"
            )
        years = _years(env)
        outside = sorted(day for day in holidays | extra if years is not None and day.year not in years)
        if outside:
            raise MalformedEnvironmentVariableError(
                "CALENDAR_YEARS", f"{outside[0].isoformat()} is in HOLIDAYS or EXTRA_WORKDAYS but its year is not"
            )
        window = _window(env)
        boot = _boot(env, window)
        return cls(
            asg_names=csv_list(env, "ASG_NAMES"),
            timezone=_timezone(env),
            calendar=WorkCalendar(weekdays=_weekdays(env), holidays=holidays, extra_workdays=extra, years=years),
            open_window=window,
            size_tag_key=required(env, "SIZE_TAG_KEY"),
            default_size=_size(env, "DEFAULT_SIZE"),
            override_tag_key=required(env, "OVERRIDE_TAG_KEY"),
            metric_namespace=required(env, "METRIC_NAMESPACE"),
            env_name=required(env, "ENV_NAME"),
            boot=boot,
        )


def _years(env: Mapping[str, str]) -> frozenset[int] | None:
    if required(env, "CALENDAR_YEARS") == EVERY_YEAR:
        return None
    years: set[int] = set()
    for item in csv_list(env, "CALENDAR_YEARS"):
        if not (item.isdigit() and len(item) == 4):
            raise MalformedEnvironmentVariableError(
                "CALENDAR_YEARS", f"'{item}' is not a year (expected e.g. '2026,2027', or '{EVERY_YEAR}')"
            )
        years.add(int(item))
    return frozenset(years)


def _boot(env: Mapping[str, str], window: OpenWindow) -> dt.timedelta:
    raw = required(env, "BOOT_MINUTES")
    if not raw.isdigit() or int(raw) == 0:
        raise MalformedEnvironmentVariableError("BOOT_MINUTES", f"'{raw}' is not a whole number of minutes above 0")
    boot = dt.timedelta(minutes=int(raw))
    length = dt.datetime.combine(dt.date.min, window.end) - dt.datetime.combine(dt.date.min, window.start)
    if boot >= length:
        raise MalformedEnvironmentVariableError(
            "BOOT_MINUTES", f"{raw} minutes is not shorter than OPEN_WINDOW {window}: no start could be ready in time"
        )
    return boot


def _timezone(env: Mapping[str, str]) -> ZoneInfo:
    name = required(env, "TIMEZONE")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        # Also what a runtime without a tz database would say, hence the hint.
        raise MalformedEnvironmentVariableError(
            "TIMEZONE",
            f"'{name}' is not an IANA timezone known to this runtime (e.g. 'Asia/Shanghai'; if valid names fail too,"
            " the runtime has no tz database: ship the 'tzdata' package with the function)",
        ) from exc


def _weekdays(env: Mapping[str, str]) -> frozenset[int]:
    names = csv_list(env, "WEEKDAYS")
    numbers: set[int] = set()
    for name in names:
        if name.lower() not in WEEKDAY_NAMES:
            raise MalformedEnvironmentVariableError(
                "WEEKDAYS", f"unknown weekday '{name}' (use {','.join(WEEKDAY_NAMES)})"
            )
        numbers.add(WEEKDAY_NAMES.index(name.lower()))
    return frozenset(numbers)


def _dates(env: Mapping[str, str], name: str) -> frozenset[dt.date]:
    days: set[dt.date] = set()
    for item in csv_list(env, name, allow_empty=True):
        try:
            days.add(dt.date.fromisoformat(item))
        except ValueError as exc:
            raise MalformedEnvironmentVariableError(name, f"'{item}' is not an ISO date (YYYY-MM-DD)") from exc
    return frozenset(days)


def _window(env: Mapping[str, str]) -> OpenWindow:
    try:
        return OpenWindow.parse(required(env, "OPEN_WINDOW"))
    except WindowFormatError as exc:
        raise MalformedEnvironmentVariableError("OPEN_WINDOW", str(exc)) from exc


def _size(env: Mapping[str, str], name: str) -> RunningSize:
    try:
        return RunningSize.parse(required(env, name))
    except SizeFormatError as exc:
        raise MalformedEnvironmentVariableError(name, str(exc)) from exc
