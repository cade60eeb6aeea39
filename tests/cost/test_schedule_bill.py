"""Hand-computed arithmetic: hours of a month with holidays and a make-up day, Spot blend, Glacier, CloudFront."""

from __future__ import annotations

import pytest

from cost import bill
from cost.schedule import ALWAYS_ON_HOURS, always_on_hours, month_hours, parse_month, typical_month_hours
from cost.spot import group_purchase, mix_counts
from voicefleet_config import StorageConfig, load_environment


def test_may_2026_prod_hours_with_holidays_and_make_up_day() -> None:
    # May 2026 has 21 weekdays; 05-01, 05-04, 05-05 are holidays (-3); Saturday 05-09 is a make-up workday (+1).
    # 19 workdays x (9 h open + 25 min warm-up, the boot time) = 178.92 h.
    hours = month_hours(load_environment("prod").schedule, 2026, 5)
    assert hours.workdays == 19
    assert hours.hours == pytest.approx(19 * (9 + 25 / 60))


def test_plain_month_without_holidays() -> None:
    # dev: March 2026 has 22 weekdays and no holidays configured -> 22 x (9 h + 25 min).
    assert month_hours(load_environment("dev").schedule, 2026, 3).hours == pytest.approx(22 * (9 + 25 / 60))


def test_typical_month_and_always_on() -> None:
    schedule = load_environment("dev").schedule
    typical = typical_month_hours(schedule, 2026)
    assert typical.workdays == pytest.approx(261 / 12)  # 2026 has 261 weekdays
    assert always_on_hours(schedule, 2026).hours == ALWAYS_ON_HOURS == 730


def test_parse_month_rejects_garbage() -> None:
    assert parse_month("2026-05") == (2026, 5)
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_month("May")


def test_spot_blend_and_mix() -> None:
    # 87.5% of hours at $0.40 Spot, 12.5% on-demand at $1.00 -> 0.35 + 0.125.
    assert group_purchase(0, 0) == "spot"
    assert group_purchase(2, 100) == "on-demand"
    assert group_purchase(1, 0) == "mix"
    # base 1 on-demand, 50% of the 3 above base on-demand -> 2.5 on-demand, 1.5 Spot.
    assert mix_counts(4, 1, 50) == (2.5, 1.5)


def test_glacier_ir_steady_state() -> None:
    # 1,000 outputs/day of 1 MiB: 30 days in Standard (29.297 GB), 335 days in Glacier IR (327.15 GB).
    per_month = 1000 * bill.DAYS_PER_MONTH
    result = bill.s3_steady_state(per_month, 1024**2, StorageConfig(glacier_after_days=30, expire_after_days=365))
    assert result.standard_gb == pytest.approx(30000 / 1024)
    assert result.archive_gb == pytest.approx(335000 / 1024)
    assert result.storage == pytest.approx(30000 / 1024 * 0.023 + 335000 / 1024 * 0.004)
    # PUT $0.005/1k + transition to Glacier IR $0.02/1k.
    assert result.requests == pytest.approx(per_month / 1000 * 0.025)


def test_glacier_minimum_duration_and_object_size() -> None:
    # Deleted 10 days after the transition, Glacier IR still bills 90 days; 64 KiB objects bill as 128 KiB.
    result = bill.s3_steady_state(
        1000 * bill.DAYS_PER_MONTH, 64 * 1024, StorageConfig(glacier_after_days=30, expire_after_days=40)
    )
    assert result.archive_gb == pytest.approx(1000 * 90 * 128 / 1024**2)
    assert any("90 days" in n for n in result.notes)


def test_cloudfront_free_allowance_then_first_tier() -> None:
    assert bill.cloudfront(1000, 1_000_000, "PriceClass_100") == 0.0
    assert bill.cloudfront(1100, 1_000_000, "PriceClass_100") == pytest.approx(76 * 0.085)
    # PriceClass_200 serves Hong Kong/Singapore: every billable GB at their $0.120.
    assert bill.cloudfront(1124, 0, "PriceClass_200") == pytest.approx(100 * 0.120)
    # 10M free requests, then $0.01 per 10k.
    assert bill.cloudfront(0, 10_020_000, "PriceClass_100") == pytest.approx(0.02)


def test_tiers_cross_a_boundary() -> None:
    assert bill.tiered(10240 + 100, [10240, None], [0.085, 0.080]) == pytest.approx(10240 * 0.085 + 100 * 0.080)
