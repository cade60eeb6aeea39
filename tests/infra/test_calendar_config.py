"""schedule.calendar and fleet.boot_minutes in cdk.json: holidays from the `holidays` library where it has official
data, dates added or removed by hand, the years each calendar covers; warm-up and latest start from the boot time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from voicefleet_config import ConfigError, load_environment, parse_environment
from voicefleet_config.calendar import CalendarConfig, library_days, official_through, resolve

# China's 2026 arrangement as the State Council General Office published it (notice of 2025-11, "关于2026年部分节假日
# 安排的通知"), weekday days off and weekend make-up workdays only: the list cdk.json carried by hand until the
# library took over. The library must give exactly this.
NOTICE_2026_DAYS_OFF = [
    "2026-01-01", "2026-01-02",
    "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-23",
    "2026-04-06",
    "2026-05-01", "2026-05-04", "2026-05-05",
    "2026-06-19",
    "2026-09-25",
    "2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07",
]  # fmt: skip
NOTICE_2026_MAKE_UP = ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]
MON_FRI = frozenset(range(5))


def _error(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_environment("prod", raw)
    return str(info.value)


def test_library_2026_china_is_the_official_notice() -> None:
    prod = load_environment("prod")
    assert [d.isoformat() for d in prod.schedule.holidays] == NOTICE_2026_DAYS_OFF
    assert [d.isoformat() for d in prod.schedule.extra_workdays] == NOTICE_2026_MAKE_UP


def test_the_library_has_no_official_china_2027_yet() -> None:
    """What the installed `holidays` knows about China 2027 (checked 2026-12-01 with 0.108 and 0.109): rule-based
    days only (New Year's Day, Spring Festival Feb 5-10 with '(observed)' days, ...), no make-up workday."""
    assert official_through("CN") == 2026
    off, worked = library_days("CN", 2027)
    assert dt.date(2027, 1, 1) in off
    assert worked == frozenset()


def test_china_2027_in_years_is_refused_without_hand_entered_dates() -> None:
    message = _error({"schedule": {"calendar": {"country": "CN", "years": [2026, 2027]}}})
    assert message.startswith("environment 'prod': schedule.calendar: years: CN 2027 is not covered by official data")
    assert "only through 2026" in message
    assert "Enter 2027's dates by hand" in message


def test_a_hand_entered_year_uses_only_the_dates_given() -> None:
    calendar = CalendarConfig(
        country="CN",
        years=(2026, 2027),
        hand_entered_years=(2027,),
        holidays=(dt.date(2027, 1, 1),),
        extra_workdays=(dt.date(2027, 1, 9),),
        source="a test notice",
    )
    resolved = resolve(calendar, MON_FRI)
    assert {d for d in resolved.holidays if d.year == 2027} == {dt.date(2027, 1, 1)}  # no rule-based 2027 days
    assert {d for d in resolved.extra_workdays if d.year == 2027} == {dt.date(2027, 1, 9)}
    assert resolved.years == frozenset({2026, 2027})


def test_dates_can_be_added_and_removed() -> None:
    calendar = CalendarConfig(
        country="CN",
        years=(2026,),
        holidays=(dt.date(2026, 12, 31),),  # a company day off
        remove_holidays=(dt.date(2026, 10, 7),),  # worked here
        remove_extra_workdays=(dt.date(2026, 10, 10),),  # not worked here
        source="company policy 2026",
    )
    resolved = resolve(calendar, MON_FRI)
    assert dt.date(2026, 12, 31) in resolved.holidays
    assert dt.date(2026, 10, 7) not in resolved.holidays
    assert dt.date(2026, 10, 10) not in resolved.extra_workdays
    assert resolved.is_workday(dt.date(2026, 10, 7), MON_FRI)


@pytest.mark.parametrize(
    ("calendar", "message"),
    [
        ({"country": "CN"}, "schedule.calendar: years is empty: state the years this calendar covers"),
        ({"country": "CNN", "years": [2026]}, "country 'CNN' is not in the holidays library"),
        ({"years": [2026, 2026]}, "years [2026, 2026] repeat a year"),
        ({"years": [2026], "holidays": ["2026-12-31"]}, "source is empty: say where the hand-entered dates come from"),
        (
            {"years": [2026], "holidays": ["2027-01-01"], "source": "x"},
            "2027-01-01 is outside the calendar's years [2026]",
        ),
        ({"years": [2026], "hand_entered_years": [2027], "source": "x"}, "hand_entered_years [2027] are not in years"),
        (
            {"country": "CN", "years": [2026], "remove_holidays": ["2026-03-10"], "source": "x"},
            "remove_holidays: 2026-03-10 is not a holiday in CN's 2026 calendar",
        ),
        (
            {"country": "CN", "years": [2026], "remove_extra_workdays": ["2026-03-14"], "source": "x"},
            "remove_extra_workdays: 2026-03-14 is not a make-up workday in CN's 2026 calendar",
        ),
    ],
)
def test_calendar_mistakes_name_the_key(calendar: dict[str, Any], message: str) -> None:
    assert message in _error({"schedule": {"calendar": calendar}})


@pytest.mark.parametrize("key", ["holidays", "extra_workdays", "holidays_source"])
def test_the_old_keys_say_where_they_moved(key: str) -> None:
    assert "moved to schedule.calendar" in _error({"schedule": {key: []}})


def test_coverage_text() -> None:
    assert CalendarConfig().coverage() == "every year (no public holidays configured)"
    assert CalendarConfig(country="US", years=(2026, 2027)).coverage() == "2026-2027"
    assert CalendarConfig(country="US", years=(2026, 2028)).coverage() == "2026, 2028"


def test_a_statutory_country_is_official_for_any_stated_year() -> None:
    """US federal holidays are fixed by law: the library's rules are the official data (no yearly notice)."""
    resolved = resolve(CalendarConfig(country="US", years=(2027,)), MON_FRI)
    assert dt.date(2027, 7, 5) in resolved.holidays  # Independence Day (Sunday) observed on Monday


def test_warmup_defaults_to_the_boot_time() -> None:
    for name in ("dev", "prod"):
        config = load_environment(name)
        assert config.schedule.warmup_minutes is None or config.schedule.warmup == config.fleet.boot_minutes == 25
    custom = parse_environment("x", {"fleet": {"boot_minutes": 40}})
    assert custom.schedule.warmup == 40
    assert (
        parse_environment("x", {"fleet": {"boot_minutes": 40}, "schedule": {"warmup_minutes": 10}}).schedule.warmup
        == 10
    )


def test_a_day_too_short_to_boot_is_refused() -> None:
    raw = {"schedule": {"start": "09:00", "stop": "09:30", "warmup_minutes": 0}, "fleet": {"boot_minutes": 30}}
    assert _error(raw).endswith(
        "schedule: the open window (0 min warm-up + 30 min open) is not longer than fleet.boot_minutes 30: no start "
        "could be ready before closing (lower fleet.boot_minutes or widen schedule.start/stop)"
    )


def test_desired_zero_with_a_schedule_is_refused() -> None:
    assert "fleet.desired_capacity is 0 with the schedule enabled" in _error(
        {"fleet": {"min_capacity": 0, "desired_capacity": 0, "max_capacity": 1}}
    )


def test_library_answers_are_kept_per_library_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cost CLI must start fast: the library's ~0.5 s first use is paid once per library version."""
    from voicefleet_config import library_cache

    monkeypatch.setenv("VOICEFLEET_CACHE_DIR", str(tmp_path))
    library_cache._entries.cache_clear()
    calls: list[int] = []

    def compute() -> tuple[frozenset[dt.date], frozenset[dt.date]]:
        calls.append(1)
        return frozenset({dt.date(2026, 1, 1)}), frozenset({dt.date(2026, 1, 4)})

    first = library_cache.days("CN", 2026, compute)
    library_cache._entries.cache_clear()  # a new process
    assert library_cache.days("CN", 2026, compute) == first
    assert calls == [1]
    stored = tmp_path / f"holidays-{library_cache.library_version()}.json"
    stored.write_text("{not json", encoding="utf-8")  # a torn or foreign file is ignored and rewritten
    library_cache._entries.cache_clear()
    assert library_cache.days("CN", 2026, compute) == first
    assert calls == [1, 1]
    library_cache._entries.cache_clear()
