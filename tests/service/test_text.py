"""Text stage: limits, pronunciation tags (validation and espeak conversion), normalization."""

from __future__ import annotations

import pytest

from service.text import EmptyTextError, TagError, TextTooLongError, prepare_text
from service.text.normalize import normalize_en, normalize_zh
from service.text.prepare import detect_language
from service.text.tags import arpabet_to_espeak, parse_tags, pinyin_to_espeak


def test_limit_counts_stripped_characters() -> None:
    assert prepare_text("  " + "字" * 200 + "\n", limit=200).text == "字" * 200
    with pytest.raises(TextTooLongError) as info:
        prepare_text("字" * 201, limit=200)
    assert (info.value.length, info.value.limit) == (201, 200)


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty(text: str) -> None:
    with pytest.raises(EmptyTextError):
        prepare_text(text, limit=10, field="text")


def test_groups_and_kinds() -> None:
    segments = parse_tags("报道[j][ǐ]予好评 a [M][AY0][N][UW1][T] [breath]<strong>好</strong>")
    kinds = [(s.kind, s.text) for s in segments if s.kind != "plain"]
    assert kinds == [
        ("pinyin", "[j][ǐ]"),
        ("arpabet", "[M][AY0][N][UW1][T]"),
        ("control", "[breath]"),
        ("control", "<strong>"),
        ("control", "</strong>"),
    ]


@pytest.mark.parametrize(
    ("text", "symbol"),
    [("[QQ]", "QQ"), ("[B1]", "B1"), ("[xyz3]", "xyz3"), ("[ji]", "ji"), ("[j]", "j"), ("[AY7]", "AY7")],
)
def test_unknown_symbols_are_named(text: str, symbol: str) -> None:
    with pytest.raises(TagError) as info:
        prepare_text(text, limit=100)
    assert info.value.symbol == symbol
    assert symbol in str(info.value)


def test_espeak_conversion() -> None:
    assert arpabet_to_espeak(("M", "AY0", "N", "UW1", "T")) == "[[maIn'u:t]]"
    assert arpabet_to_espeak(("AH0", "B", "AW1", "T")) == "[[@b'aUt]]"
    assert pinyin_to_espeak(("j", "ǐ")) == "ji3"
    assert pinyin_to_espeak(("zh", "ang1", "l", "ǜ")) == "zhang1 lv4"


def test_tags_keep_digits_through_normalization() -> None:
    prepared = prepare_text("Call 3 [M][AY0][N][UW1][T]s", limit=100)
    assert prepared.text == "Call three [M][AY0][N][UW1][T]s"


def test_prices_and_times_are_normalized_through_prepare_text() -> None:
    assert prepare_text("价格¥1,299元，下午3:30发货", limit=100).text == "价格一千二百九十九元，下午三点三十分发货"
    assert prepare_text("Pay $5 at 3:30 pm", limit=100).text == "Pay five dollars at three thirty p m"


@pytest.mark.parametrize(
    ("raw", "spoken"),
    [
        ("2024年5月1日", "二零二四年五月一日"),
        ("涨了3.5%", "涨了百分之三点五"),
        ("共1,234人", "共一千二百三十四人"),
        ("电话13812345678", "电话一三八一二三四五六七八"),
        # Regression: the currency sign stayed in ("价格¥一千二百九十九元") and clock times kept their colon.
        ("价格¥1,299元", "价格一千二百九十九元"),
        ("价格￥1,299", "价格一千二百九十九元"),
        ("¥12.50", "十二元五角"),
        ("¥ 100.05 元", "一百元零五分"),
        ("只要¥0.5", "只要五角"),
        ("¥1,000,000元", "一百万元"),
        ("花了$5", "花了五美元"),
        ("下午3:30开会", "下午三点三十分开会"),
        ("10:05", "十点零五分"),
        ("8:00", "八点"),
    ],
)
def test_normalize_zh(raw: str, spoken: str) -> None:
    assert normalize_zh(raw) == spoken


@pytest.mark.parametrize(
    ("raw", "spoken"),
    [
        ("the 3rd time", "the third time"),
        ("up 5%", "up five percent"),
        ("$4.50", "four dollars and fifty cents"),
        ("born in 1999", "born in nineteen ninety-nine"),
        ("on 2024-05-01", "on May first, twenty twenty-four"),
        ("12 cats", "twelve cats"),
        # Regression: times read "three:thirty pm", whole prices "five dollars, zero cents".
        ("at 3:30 pm", "at three thirty p m"),
        ("at 3:30PM today", "at three thirty p m today"),
        ("10:05", "ten oh five"),
        ("at 23:45", "at twenty-three forty-five"),
        ("by 9:00", "by nine o'clock"),
        ("at 9:00 a.m. sharp", "at nine a m sharp"),
        ("Leave at 7 a.m. Then rest.", "Leave at seven a m. Then rest."),
        ("from 3pm", "from three p m"),
        ("$5", "five dollars"),
        ("$1", "one dollar"),
        ("$1,299", "one thousand, two hundred and ninety-nine dollars"),
        ("€20", "twenty euro"),
        ("£0.99", "zero pounds sterling and ninety-nine pence"),
        ("I am here", "I am here"),
    ],
)
def test_normalize_en(raw: str, spoken: str) -> None:
    assert normalize_en(raw) == spoken


@pytest.mark.parametrize(
    ("text", "language"), [("你好", "zh"), ("こんにちは", "ja"), ("hello", "en"), ("今日は", "ja")]
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language
