"""Numbers, dates, times and prices written out as words, so every engine reads them the same way.

Chinese uses cn2an (an2cn transform: dates, decimals, percentages); English uses num2words. Only plain text runs
are touched: pronunciation tags such as [AY0] keep their digits. Prices and clock times go before the generic
number rules, which would otherwise leave the symbol ("¥一千二百九十九") or the colon ("three:thirty") behind.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal

import cn2an
from num2words import CONVERTER_CLASSES, num2words

from service.text.tags import Segment

_ZH_DIGITS = str.maketrans("0123456789", "零一二三四五六七八九")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# Digit runs this long are identifiers (phone numbers, codes): read digit by digit, not as a quantity. Matched before
# thousands separators are dropped, so 1,000,000 stays a quantity; a price, a percentage or an ordinal is one too.
_LONG_DIGITS = re.compile(r"(?<![\d$€£¥￥])(?<![$€£¥￥]\s)\d{7,}(?!\d|\s?%|(?:st|nd|rd|th)\b)")
# H:MM that is not part of a longer chain (H:MM:SS, 1:2:3); am/pm may follow as am, PM, a.m. or p. m.
_CLOCK = r"(?<![\d:])([01]?\d|2[0-3]):([0-5]\d)(?![\d:])"
_MERIDIEM = r"\s?([AaPp])\.?\s?[Mm]\b(\.?)"
_EN_TIME = re.compile(_CLOCK + f"(?:{_MERIDIEM})?")
_EN_HOUR_MERIDIEM = re.compile(r"(?<![\d:.])\b(1[0-2]|0?[1-9])" + _MERIDIEM)
_EN_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_EN_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?%")
_EN_CURRENCY = re.compile(r"([$€£])(\d+(?:\.\d{1,2})?)")
# '$2.5 billion': the scale word belongs to the amount and the unit follows it (not "two dollars and fifty cents
# billion").
_EN_CURRENCY_SCALE = re.compile(r"([$€£])(\d+(?:\.\d+)?)\s?(thousand|million|billion|trillion)\b", re.IGNORECASE)
_EN_YEAR = re.compile(r"\b(in|since|until|by|of|year)\s+(1[1-9]\d\d|20\d\d)\b", re.IGNORECASE)
# A number may end a sentence ("I have 3."): only a digit after the point makes it a decimal.
_EN_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?!\w|\.\d)")
_CURRENCY_CODES = {"$": "USD", "€": "EUR", "£": "GBP"}
_OCLOCK = " o'clock"
_ZH_TIME = re.compile(_CLOCK)
# ¥ or full-width ￥ and an amount; a 元 written after it is the same unit, not a second one.
# A 万 or 亿 after the amount is its scale: ¥2.5亿 is 二点五亿元, not 二元五角亿.
_ZH_YUAN = re.compile(r"[¥￥]\s?(\d+(?:\.\d+)?)([万亿]?)\s?元?")
_ZH_FOREIGN = re.compile(r"([$€£])\s?(\d+(?:\.\d+)?)([万亿]?)")
_ZH_FOREIGN_UNITS = {"$": "美元", "€": "欧元", "£": "英镑"}
_ZH_NUMERALS = "零一二三四五六七八九"
# Year-first dates written with '-', '/' or '.' (validated as calendar dates; anything else is left alone).
_YMD = re.compile(r"(?<![\d/.-])(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?!\d|[-/.]\d)")
# H:MM:SS clock times.
_CLOCK_SECONDS = re.compile(r"(?<![\d:])([01]?\d|2[0-3]):([0-5]\d):([0-5]\d)(?![\d:])")
# Phone numbers: digit groups joined by '-' or spaces (optionally +country code or a one-digit prefix as in
# 1-800-555-0199, (area) code), 7+ digits in all. Matched before thousands separators are dropped, so a last group
# followed by ",ddd" is part of a quantity (in 2023 123,456 people), unless another phone number follows the comma.
_PHONE = re.compile(
    r"(?<![\d.+\-/:])(?:\+\d{1,3}[\s-]?|\d-)?(?:\(\d{2,4}\)\s?)?\d{2,4}(?:[\s-]\d{2,8}){1,3}"
    r"(?!\d|[-./:]\d|,\d{3}(?!\d|[\s-]\d))"
)
# Year ranges (2019-2020, 1999–2000): read as two years, not as a phone number. Checked to run forwards.
_YEAR_RANGE = re.compile(r"(?<![\d.+\-/:])(1[1-9]\d\d|20\d\d)\s?[-–—]\s?(1[1-9]\d\d|20\d\d)(?!\d|[-./:]\d)")
# a:b that is not a clock time (one-digit or 3+-digit second part, or a first part above 23): a ratio or a score.
_RATIO = re.compile(r"(?<![\d:])(\d{1,4}):(\d{1,4})(?![\d:])")
_ZH_PHONE_DIGITS = str.maketrans("0123456789", "零幺二三四五六七八九")  # 1 is read 幺 in phone numbers


def _is_phone(match: re.Match[str]) -> bool:
    return sum(c.isdigit() for c in match.group(0)) >= 7


def _is_ratio(match: re.Match[str]) -> bool:
    first, second = match.group(1), match.group(2)
    return len(second) != 2 or int(first) > 23


def _year_range(match: re.Match[str]) -> tuple[int, int] | None:
    first, last = int(match.group(1)), int(match.group(2))
    return (first, last) if first < last else None


def _ymd(match: re.Match[str]) -> dt.date | None:
    try:
        return dt.date(int(match.group(1)), int(match.group(3)), int(match.group(4)))
    except ValueError:
        return None


def _zh_date(match: re.Match[str]) -> str:
    """'2024-05-01' / '2024/05/01' -> '二零二四年五月一日' (the year digit by digit, as it is read)."""
    day = _ymd(match)
    if day is None:
        return match.group(0)
    return f"{str(day.year).translate(_ZH_DIGITS)}年{cn2an.an2cn(day.month)}月{cn2an.an2cn(day.day)}日"


def _zh_year_range(match: re.Match[str]) -> str:
    """'2019-2020' -> '二零一九到二零二零' (years digit by digit, as in dates)."""
    years = _year_range(match)
    if years is None:
        return match.group(0)
    return "到".join(str(year).translate(_ZH_DIGITS) for year in years)


def _zh_clock_seconds(match: re.Match[str]) -> str:
    """'23:59:59' -> '二十三点五十九分五十九秒', '08:05:09' -> '八点零五分零九秒'."""
    hour, minute, second = (int(g) for g in match.groups())
    return (
        f"{cn2an.an2cn(hour)}点{'零' if minute < 10 else ''}{cn2an.an2cn(minute)}分"
        f"{'零' if 0 < second < 10 else ''}{cn2an.an2cn(second)}秒"
    )


def _zh_phone(match: re.Match[str]) -> str:
    """'138-1234-5678' -> '幺三八，幺二三四，五六七八': digit by digit, a pause between groups."""
    if not _is_phone(match):
        return match.group(0)
    groups = re.findall(r"\d+", match.group(0))
    prefix = "加" if match.group(0).startswith("+") else ""
    return prefix + "，".join(g.translate(_ZH_PHONE_DIGITS) for g in groups)


def _zh_ratio(match: re.Match[str]) -> str:
    """'3:2' -> '三比二', '1:1000' -> '一比一千'."""
    if not _is_ratio(match):
        return match.group(0)
    return f"{cn2an.an2cn(match.group(1))}比{cn2an.an2cn(match.group(2))}"


def _zh_yuan(match: re.Match[str]) -> str:
    """'¥1299' -> '一千二百九十九元', '¥12.50' -> '十二元五角', '¥100.05' -> '一百元零五分', '¥0.5' -> '五角',
    '¥2.5亿' -> '二点五亿元'."""
    if match.group(2):
        return f"{_zh_amount(match.group(1))}{match.group(2)}元"
    fen_total = int((Decimal(match.group(1)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    yuan, rest = divmod(fen_total, 100)
    jiao, fen = divmod(rest, 10)
    words = f"{cn2an.an2cn(yuan)}元" if yuan or not rest else ""
    if jiao:
        words += f"{_ZH_NUMERALS[jiao]}角"
    if fen:
        words += f"{'零' if words and not jiao else ''}{_ZH_NUMERALS[fen]}分"
    return words


def _zh_amount(amount: str) -> str:
    """'4.50' -> '四点五'."""
    if "." in amount:
        amount = amount.rstrip("0").rstrip(".")
    spoken: str = cn2an.an2cn(amount)
    return spoken


def _zh_foreign(match: re.Match[str]) -> str:
    """'$4.50' -> '四点五美元', '$25亿' -> '二十五亿美元'."""
    return f"{_zh_amount(match.group(2))}{match.group(3)}{_ZH_FOREIGN_UNITS[match.group(1)]}"


def _zh_time(match: re.Match[str]) -> str:
    """'3:30' -> '三点三十分', '10:05' -> '十点零五分', '8:00' -> '八点'."""
    hour, minute = int(match.group(1)), int(match.group(2))
    if minute == 0:
        return f"{cn2an.an2cn(hour)}点"
    return f"{cn2an.an2cn(hour)}点{'零' if minute < 10 else ''}{cn2an.an2cn(minute)}分"


def normalize_zh(text: str) -> str:
    """'2024年5月1日涨了3.5%' -> '二零二四年五月一日涨了百分之三点五'; '¥1,299元' -> '一千二百九十九元'."""
    text = _YMD.sub(_zh_date, text)
    text = _YEAR_RANGE.sub(_zh_year_range, text)
    text = _PHONE.sub(_zh_phone, text)
    text = _LONG_DIGITS.sub(lambda m: m.group(0).translate(_ZH_DIGITS), text)
    text = _THOUSANDS.sub("", text)
    text = _ZH_YUAN.sub(_zh_yuan, text)
    text = _ZH_FOREIGN.sub(_zh_foreign, text)
    text = _CLOCK_SECONDS.sub(_zh_clock_seconds, text)
    text = _ZH_TIME.sub(_zh_time, text)
    text = _RATIO.sub(_zh_ratio, text)
    result: str = cn2an.transform(text, "an2cn")
    return result


def _en_date(match: re.Match[str]) -> str:
    day = _ymd(match)
    if day is None:
        return match.group(0)
    return f"{day.strftime('%B')} {num2words(day.day, to='ordinal')}, {num2words(day.year, to='year')}"


def _meridiem(letter: str | None, dot: str | None, match: re.Match[str]) -> str:
    """' p m' for pm, PM or p.m.; a final '.' is kept only where it also ends the sentence ('at 9 a.m. Then')."""
    if not letter:
        return ""
    rest = match.string[match.end() :]
    ends_sentence = bool(dot) and (not rest.strip() or (rest[:1].isspace() and rest.lstrip()[:1].isupper()))
    return f" {letter.lower()} m{'.' if ends_sentence else ''}"


def _en_time(match: re.Match[str]) -> str:
    """'3:30 pm' -> 'three thirty p m', '10:05' -> 'ten oh five', '9:00' -> "nine o'clock", '9:00 am' -> 'nine a m'."""
    hour, minute = int(match.group(1)), int(match.group(2))
    suffix = _meridiem(match.group(3), match.group(4), match)
    if minute == 0:
        return f"{num2words(hour)}{suffix or _OCLOCK}"
    spoken_minute = f"oh {num2words(minute)}" if minute < 10 else num2words(minute)
    return f"{num2words(hour)} {spoken_minute}{suffix}"


def _en_hour(match: re.Match[str]) -> str:
    """'3 pm' -> 'three p m'."""
    return f"{num2words(int(match.group(1)))}{_meridiem(match.group(2), match.group(3), match)}"


def _en_currency(match: re.Match[str]) -> str:
    """'$5' -> 'five dollars' (num2words' currency mode would add ', zero cents'); '$4.50' -> 'four dollars and
    fifty cents'."""
    code, amount = _CURRENCY_CODES[match.group(1)], Decimal(match.group(2))
    if amount != amount.to_integral_value():
        spoken: str = num2words(float(amount), to="currency", currency=code, separator=" and")
        return spoken
    converter = CONVERTER_CLASSES["en"]
    whole = int(amount)
    unit: str = converter.pluralize(whole, converter.CURRENCY_FORMS[code][0])
    return f"{num2words(whole)} {unit}"


def _en_currency_scale(match: re.Match[str]) -> str:
    """'$2.5 billion' -> 'two point five billion dollars'."""
    amount, scale = match.group(2), match.group(3).lower()
    units: str = CONVERTER_CLASSES["en"].CURRENCY_FORMS[_CURRENCY_CODES[match.group(1)]][0][1]
    return f"{num2words(float(amount) if '.' in amount else int(amount))} {scale} {units}"


def _en_year_range(match: re.Match[str]) -> str:
    """'2019-2020' -> 'twenty nineteen to twenty twenty'."""
    years = _year_range(match)
    if years is None:
        return match.group(0)
    return " to ".join(num2words(year, to="year") for year in years)


def _en_clock_seconds(match: re.Match[str]) -> str:
    """'23:59:59' -> 'twenty-three fifty-nine and fifty-nine seconds'."""
    hour, minute, second = (int(g) for g in match.groups())
    spoken_minute = "hundred" if minute == 0 else (f"oh {num2words(minute)}" if minute < 10 else num2words(minute))
    seconds = "second" if second == 1 else "seconds"
    return f"{num2words(hour)} {spoken_minute} and {num2words(second)} {seconds}"


def _en_phone(match: re.Match[str]) -> str:
    """'555-1234' -> 'five five five, one two three four': digit by digit, a pause between groups."""
    if not _is_phone(match):
        return match.group(0)
    groups = re.findall(r"\d+", match.group(0))
    prefix = "plus " if match.group(0).startswith("+") else ""
    return prefix + ", ".join(" ".join(num2words(int(d)) for d in g) for g in groups)


def _en_ratio(match: re.Match[str]) -> str:
    """'16:9' -> 'sixteen to nine'."""
    if not _is_ratio(match):
        return match.group(0)
    return f"{num2words(int(match.group(1)))} to {num2words(int(match.group(2)))}"


def normalize_en(text: str) -> str:
    """'On 2024-05-01 at 3:30 pm the 3rd item cost $4.50, up 5%' -> words num2words writes."""
    text = _YMD.sub(_en_date, text)
    text = _YEAR_RANGE.sub(_en_year_range, text)
    text = _PHONE.sub(_en_phone, text)
    text = _LONG_DIGITS.sub(lambda m: " ".join(num2words(int(d)) for d in m.group(0)), text)
    text = _THOUSANDS.sub("", text)
    text = _CLOCK_SECONDS.sub(_en_clock_seconds, text)
    text = _EN_TIME.sub(_en_time, text)
    text = _RATIO.sub(_en_ratio, text)
    text = _EN_HOUR_MERIDIEM.sub(_en_hour, text)
    text = _EN_CURRENCY_SCALE.sub(_en_currency_scale, text)
    text = _EN_CURRENCY.sub(_en_currency, text)
    text = _EN_ORDINAL.sub(lambda m: num2words(int(m.group(1)), to="ordinal"), text)
    text = _EN_PERCENT.sub(lambda m: f"{num2words(float(m.group(1)))} percent", text)
    text = _EN_YEAR.sub(lambda m: f"{m.group(1)} {num2words(int(m.group(2)), to='year')}", text)
    return _EN_NUMBER.sub(lambda m: num2words(float(m.group(0)) if "." in m.group(0) else int(m.group(0))), text)


def normalize_segments(segments: list[Segment], language: str) -> list[Segment]:
    """Segments with numbers in plain runs written out for `language` (zh, yue: Chinese numerals; en: words)."""
    normalizer = {"zh": normalize_zh, "yue": normalize_zh, "en": normalize_en}.get(language)
    if normalizer is None:
        return segments
    return [Segment("plain", normalizer(s.text)) if s.kind == "plain" else s for s in segments]
