"""Public holidays and make-up workdays of an environment: a country's official calendar, adjusted by hand.

The dates come from the `holidays` library where it carries official data, and cdk.json adds or removes dates.
Every calendar states the years it covers, because running past them is silent otherwise: a day outside the
coverage is decided as a plain weekday (the Lambda and the cost model alike), and the CDK app warns before the
coverage ends and refuses to synthesize once the current year is not covered (infra/schedule.py).

Some countries fix their holidays by statute, so the library's rules are the official data for any year. Others
announce each year's days off and make-up workdays by notice (China: the State Council's General Office, each
November or December); for those the library's later years are rule-based guesses without make-up days, so a year
counts as official only up to the last year whose notice the library carries.

Pure pydantic + `holidays` (imported lazily, ~80 ms): no aws_cdk import.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, model_validator

from voicefleet_config import library_cache
from voicefleet_config.library_cache import library_version

if TYPE_CHECKING:
    from holidays import HolidayBase

# Countries whose days off and make-up workdays are announced each year rather than fixed by statute. The library
# lists such announcements as `special_public_holidays` keyed by year; its rules for later years are guesses.
ANNOUNCED_YEARLY: dict[str, str] = {"CN": "the State Council General Office's yearly holiday notice"}
# English names make the library's substitution label parseable: "Day off (substituted from 01/04/2026)".
_LANGUAGE = "en_US"


class CalendarConfig(BaseModel):
    """cdk.json `schedule.calendar`. Empty: no public holidays at all (weekdays only), which covers every year."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # ISO 3166 code the `holidays` library knows (e.g. "CN"); None: no library calendar.
    country: str | None = None
    # The years this calendar covers. Required once there is anything to cover (a country or a date).
    years: tuple[int, ...] = ()
    # Covered years whose dates come only from this file (e.g. a notice newer than the installed library).
    hand_entered_years: tuple[int, ...] = ()
    holidays: tuple[dt.date, ...] = ()  # days off added to the library's
    extra_workdays: tuple[dt.date, ...] = ()  # make-up workdays added to the library's
    remove_holidays: tuple[dt.date, ...] = ()  # library days off that are worked here
    remove_extra_workdays: tuple[dt.date, ...] = ()  # library make-up workdays that are not worked here
    # Where the hand-entered dates come from (an official notice), so they can be checked and renewed.
    source: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CalendarConfig:
        _check(self)
        return self

    @property
    def is_empty(self) -> bool:
        return self.country is None and not self.years and not self._hand_dates()

    def covers(self, year: int) -> bool:
        return self.is_empty or year in self.years

    def coverage(self) -> str:
        """'2026-2027', '2026, 2028' or 'every year (no public holidays configured)'."""
        if self.is_empty:
            return "every year (no public holidays configured)"
        years = sorted(self.years)
        if years == list(range(years[0], years[-1] + 1)) and len(years) > 1:
            return f"{years[0]}-{years[-1]}"
        return ", ".join(str(year) for year in years)

    def _hand_dates(self) -> tuple[dt.date, ...]:
        return (*self.holidays, *self.extra_workdays, *self.remove_holidays, *self.remove_extra_workdays)


@dataclass(frozen=True)
class ResolvedCalendar:
    """The days that change a configured weekday pattern, for the covered years only."""

    holidays: frozenset[dt.date]  # days off that fall on a configured weekday
    extra_workdays: frozenset[dt.date]  # workdays that fall on a day that is not a configured weekday
    years: frozenset[int] | None  # None: covers every year

    def covers(self, day: dt.date) -> bool:
        return self.years is None or day.year in self.years

    def is_workday(self, day: dt.date, weekdays: frozenset[int]) -> bool:
        """An extra workday, else not a holiday and a configured weekday; outside the coverage a plain weekday."""
        if day in self.extra_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() in weekdays


def resolve(calendar: CalendarConfig, weekdays: frozenset[int]) -> ResolvedCalendar:
    """Library days (official years only) + added days - removed days, kept where they change the weekday pattern."""
    return _resolve(calendar, weekdays)


@cache
def _resolve(calendar: CalendarConfig, weekdays: frozenset[int]) -> ResolvedCalendar:
    off, worked = _all_days(calendar)
    return ResolvedCalendar(
        holidays=frozenset(day for day in off if day.weekday() in weekdays),
        extra_workdays=frozenset(day for day in worked if day.weekday() not in weekdays),
        years=None if calendar.is_empty else frozenset(calendar.years),
    )


def _all_days(calendar: CalendarConfig) -> tuple[set[dt.date], set[dt.date]]:
    off: set[dt.date] = set()
    worked: set[dt.date] = set()
    if calendar.country is not None:
        for year in calendar.years:
            if year not in calendar.hand_entered_years:
                library_off, library_worked = library_days(calendar.country, year)
                off |= library_off
                worked |= library_worked
    off = (off - set(calendar.remove_holidays)) | set(calendar.holidays)
    worked = (worked - set(calendar.remove_extra_workdays)) | set(calendar.extra_workdays)
    return off, worked


@cache
def library_days(country: str, year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """(days off, make-up workdays) of `country` in `year`, public category, from the `holidays` library.

    A make-up workday is the day a substituted day off was "substituted from": the library names the day off
    "Day off (substituted from MM/DD/YYYY)" and lists no entry for the worked day itself.
    """
    return library_cache.days(country, year, lambda: _library_days(country, year))


def _library_days(country: str, year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    entries = _country(country, year)
    label = str(entries.tr(entries.substituted_label)) if hasattr(entries, "substituted_label") else None
    pattern = re.compile(re.escape(label).replace(re.escape("%s"), "(.+)")) if label else None
    date_format = str(entries.tr(entries.substituted_date_format)) if label else ""
    off: set[dt.date] = set()
    worked: set[dt.date] = set()
    for day, names in entries.items():
        off.add(day)
        for name in str(names).split("; "):
            match = pattern.fullmatch(name) if pattern else None
            if match:
                worked.add(dt.datetime.strptime(match.group(1), date_format).date())
    return frozenset(off), frozenset(worked)


@cache
def official_through(country: str) -> int | None:
    """The last year of `country`'s yearly announcement the library carries; None for a statutory calendar."""
    if country not in ANNOUNCED_YEARLY:
        return None

    def latest() -> int | None:
        import holidays

        entries = holidays.country_holidays(country, categories=("public",), language=_LANGUAGE)
        special: dict[int, Any] = getattr(entries, "special_public_holidays", {})
        return max(special) if special else None

    found: int | None = library_cache.remembered(f"official-through/{country}", latest)
    return found


@cache
def supported_countries() -> tuple[str, ...]:
    """ISO 3166 alpha-2 codes the library has a calendar for.

    From its static registry (module -> class, alpha-2, alpha-3, ...): `holidays.list_supported_countries()` imports
    all ~250 country modules (~250 ms), which would slow every config load, the cost CLI's included.
    """

    def codes() -> list[str]:
        try:
            from holidays.registry import COUNTRIES
        except ImportError:  # a layout without the registry module: the public (slow) way
            import holidays

            return sorted(code for code in holidays.list_supported_countries() if len(code) == 2)
        return sorted({names[1] for names in COUNTRIES.values() if len(names) > 1})

    return tuple(library_cache.remembered("countries", codes))


def _country(country: str, year: int) -> HolidayBase:
    import holidays

    return holidays.country_holidays(country, years=year, categories=("public",), language=_LANGUAGE)


def _check(calendar: CalendarConfig) -> None:
    """Every rule with a message naming the key, the value and the fix (raised as ValueError for pydantic)."""
    years = set(calendar.years)
    if len(years) != len(calendar.years):
        raise ValueError(f"years {list(calendar.years)} repeat a year")
    hand_dates = calendar._hand_dates()
    if not years and (calendar.country is not None or hand_dates or calendar.hand_entered_years):
        raise ValueError("years is empty: state the years this calendar covers (e.g. [2026, 2027])")
    if not set(calendar.hand_entered_years) <= years:
        extra = sorted(set(calendar.hand_entered_years) - years)
        raise ValueError(f"hand_entered_years {extra} are not in years {sorted(years)}")
    outside = sorted(day for day in hand_dates if day.year not in years)
    if outside:
        raise ValueError(f"{outside[0].isoformat()} is outside the calendar's years {sorted(years)}")
    if (hand_dates or calendar.hand_entered_years) and not (calendar.source or "").strip():
        raise ValueError("source is empty: say where the hand-entered dates come from (e.g. the official notice)")
    if calendar.country is not None:
        _check_country(calendar, years)
    off, worked = _all_days(calendar)
    both = sorted(off & worked)
    if both:
        raise ValueError(f"{both[0].isoformat()} is both a holiday and an extra workday")


def _check_country(calendar: CalendarConfig, years: set[int]) -> None:
    from voicefleet_config.model import did_you_mean

    country = calendar.country or ""
    known = supported_countries()
    if country not in known:
        raise ValueError(
            f"country '{country}' is not in the holidays library {library_version()}{did_you_mean(country, known)}"
        )
    latest = official_through(country)
    guessed = sorted(year for year in years - set(calendar.hand_entered_years) if latest is None or year > latest)
    if country in ANNOUNCED_YEARLY and guessed:
        year, through = guessed[0], latest or "no year"
        raise ValueError(
            f"years: {country} {year} is not covered by official data: holidays {library_version()} carries "
            f"{ANNOUNCED_YEARLY[country]} only through {through} (its {year} dates are rule-based guesses without "
            f"make-up workdays). Enter {year}'s dates by hand (holidays, extra_workdays, hand_entered_years, "
            f"source) or drop {year} from years"
        )
    for year in years - set(calendar.hand_entered_years):
        library_off, library_worked = library_days(country, year)
        for day in calendar.remove_holidays:
            if day.year == year and day not in library_off:
                raise ValueError(f"remove_holidays: {day.isoformat()} is not a holiday in {country}'s {year} calendar")
        for day in calendar.remove_extra_workdays:
            if day.year == year and day not in library_worked:
                raise ValueError(
                    f"remove_extra_workdays: {day.isoformat()} is not a make-up workday in {country}'s {year} calendar"
                )
