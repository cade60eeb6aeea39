"""Dates, times with seconds, phone numbers and ratios read the way people say them (regressions from issue 12)."""

from __future__ import annotations

import pytest

from service.text.normalize import normalize_en, normalize_zh


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("会议定于2024-05-01举行。", "会议定于二零二四年五月一日举行。"),
        ("截止日期是2024/05/01。", "截止日期是二零二四年五月一日。"),
        ("系统在23:59:59自动关闭。", "系统在二十三点五十九分五十九秒自动关闭。"),
        ("列车08:05:09出发。", "列车八点零五分零九秒出发。"),
        ("请拨打客服电话138-1234-5678。", "请拨打客服电话幺三八，幺二三四，五六七八。"),
        ("总机010-12345678转分机。", "总机零幺零，幺二三四五六七八转分机。"),
        ("国际号码+86 138 1234 5678。", "国际号码加八六，幺三八，幺二三四，五六七八。"),
        ("最终比分3:2，主队获胜。", "最终比分三比二，主队获胜。"),
        ("地图比例尺1:1000。", "地图比例尺一比一千。"),
        ("下午3:30见。", "下午三点三十分见。"),  # a clock time stays a time
        # not a date (month 13): read as a code, digit by digit, never as "二千零二十四负十三"
        ("2024-13-40不是日期。", "二零二四，幺三，四零不是日期。"),
    ],
)
def test_chinese(text: str, spoken: str) -> None:
    assert normalize_zh(text) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Call 555-1234 for support.", "Call five five five, one two three four for support."),
        ("Call (555) 123-4567.", "Call five five five, one two three, four five six seven."),
        ("Dial +1 555 123 4567 now.", "Dial plus one, five five five, one two three, four five six seven now."),
        ("The job ran at 23:59:59 exactly.", "The job ran at twenty-three fifty-nine and fifty-nine seconds exactly."),
        ("Shipped on 2024/05/01.", "Shipped on May first, twenty twenty-four."),
        ("Widescreen is 16:9.", "Widescreen is sixteen to nine."),
        ("We won 3:2 at home.", "We won three to two at home."),
        ("I have 3.", "I have three."),  # a number ending a sentence is still a number
        ("Meet at 3:30 pm.", "Meet at three thirty p m."),
    ],
)
def test_english(text: str, spoken: str) -> None:
    assert normalize_en(text) == spoken
