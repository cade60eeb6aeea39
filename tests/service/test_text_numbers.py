"""Dates, times with seconds, phone numbers and ratios read the way people say them (regressions from issue 12)."""

from __future__ import annotations

import pytest

from service.text.normalize import normalize_en, normalize_zh
from service.text.prepare import prepare_text


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


# Regression (text-normalization audit): grouped quantities were read digit by digit as identifiers, year ranges and
# "year + number" as phone numbers, a 1-800 number as quantities, and a scale word landed after the currency unit.
@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("1,000,000 people", "one million people"),
        ("2,500,000", "two million, five hundred thousand"),
        ("The 2019-2020 season", "The twenty nineteen to twenty twenty season"),
        ("From 1999–2000 on.", "From nineteen ninety-nine to two thousand on."),
        ("In 2023 1,200 people", "In twenty twenty-three one thousand, two hundred people"),
        (
            "In 2023 123,456 people",
            "In twenty twenty-three one hundred and twenty-three thousand, four hundred and fifty-six people",
        ),
        ("Call 1-800-555-0199", "Call one, eight zero zero, five five five, zero one nine nine"),
        ("$2.5 billion", "two point five billion dollars"),
        ("$3 million", "three million dollars"),
        ("Order 1234567 shipped.", "Order one two three four five six seven shipped."),  # an identifier stays one
        ("$1000000", "one million dollars"),  # a price stays a price
        ("2020-2019", "two zero two zero, two zero one nine"),  # not a range that runs forwards: still a code
    ],
)
def test_english_quantities_year_ranges_and_scaled_prices(text: str, spoken: str) -> None:
    assert normalize_en(text) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("人口有1,000,000人", "人口有一百万人"),
        ("共2,500,000人", "共二百五十万人"),
        ("估值1,000,000美元", "估值一百万美元"),
        ("2019-2020赛季", "二零一九到二零二零赛季"),
        ("2019—2020年", "二零一九到二零二零年"),
        ("融资$2.5亿", "融资二点五亿美元"),
        ("¥3万", "三万元"),
        ("¥2.5亿元", "二点五亿元"),
        ("订单1234567", "订单一二三四五六七"),  # an identifier stays one
        ("¥1000000元", "一百万元"),  # a price stays a price
        ("138-1234-5678,010-12345678", "幺三八，幺二三四，五六七八,零幺零，幺二三四五六七八"),  # two phone numbers
    ],
)
def test_chinese_quantities_year_ranges_and_scaled_prices(text: str, spoken: str) -> None:
    assert normalize_zh(text) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        (
            "The city grew to 1,000,000 people during the 2019-2020 season.",
            "The city grew to one million people during the twenty nineteen to twenty twenty season.",
        ),
        (
            "In 2023 1,200 people called 1-800-555-0199 about the $2.5 billion deal.",
            "In twenty twenty-three one thousand, two hundred people called one, eight zero zero, five five five, "
            "zero one nine nine about the two point five billion dollars deal.",
        ),
        ("2019-2020赛季，人口有1,000,000人。", "二零一九到二零二零赛季，人口有一百万人。"),
    ],
)
def test_audit_sentences_through_prepare_text(text: str, spoken: str) -> None:
    assert prepare_text(text, limit=500).text == spoken
