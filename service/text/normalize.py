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
# Digit runs this long are identifiers (phone numbers, codes): read digit by digit, not as a quantity.
_LONG_DIGITS = re.compile(r"\d{7,}")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
# H:MM that is not part of a longer chain (H:MM:SS, 1:2:3); am/pm may follow as am, PM, a.m. or p. m.
_CLOCK = r"(?<![\d:])([01]?\d|2[0-3]):([0-5]\d)(?![\d:])"
_MERIDIEM = r"\s?([AaPp])\.?\s?[Mm]\b(\.?)"
_EN_TIME = re.compile(_CLOCK + f"(?:{_MERIDIEM})?")
_EN_HOUR_MERIDIEM = re.compile(r"(?<![\d:.])\b(1[0-2]|0?[1-9])" + _MERIDIEM)
_EN_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_EN_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?%")
_EN_CURRENCY = re.compile(r"([$€£])(\d+(?:\.\d{1,2})?)")
_EN_YEAR = re.compile(r"\b(in|since|until|by|of|year)\s+(1[1-9]\d\d|20\d\d)\b", re.IGNORECASE)
_EN_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
_CURRENCY_CODES = {"$": "USD", "€": "EUR", "£": "GBP"}
_OCLOCK = " o'clock"
_ZH_TIME = re.compile(_CLOCK)
# ¥ or full-width ￥ and an amount; a 元 written after it is the same unit, not a second one.
_ZH_YUAN = re.compile(r"[¥￥]\s?(\d+(?:\.\d+)?)\s?元?")
_ZH_FOREIGN = re.compile(r"([$€£])\s?(\d+(?:\.\d+)?)")
_ZH_FOREIGN_UNITS = {"$": "美元", "€": "欧元", "£": "英镑"}
_ZH_NUMERALS = "零一二三四五六七八九"


def _zh_yuan(match: re.Match[str]) -> str:
    """'¥1299' -> '一千二百九十九元', '¥12.50' -> '十二元五角', '¥100.05' -> '一百元零五分', '¥0.5' -> '五角'."""
    fen_total = int((Decimal(match.group(1)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    yuan, rest = divmod(fen_total, 100)
    jiao, fen = divmod(rest, 10)
    words = f"{cn2an.an2cn(yuan)}元" if yuan or not rest else ""
    if jiao:
        words += f"{_ZH_NUMERALS[jiao]}角"
    if fen:
        words += f"{'零' if words and not jiao else ''}{_ZH_NUMERALS[fen]}分"
    return words


def _zh_foreign(match: re.Match[str]) -> str:
    """'$4.50' -> '四点五美元'."""
    amount = match.group(2)
    if "." in amount:
        amount = amount.rstrip("0").rstrip(".")
    return f"{cn2an.an2cn(amount)}{_ZH_FOREIGN_UNITS[match.group(1)]}"


def _zh_time(match: re.Match[str]) -> str:
    """'3:30' -> '三点三十分', '10:05' -> '十点零五分', '8:00' -> '八点'."""
    hour, minute = int(match.group(1)), int(match.group(2))
    if minute == 0:
        return f"{cn2an.an2cn(hour)}点"
    return f"{cn2an.an2cn(hour)}点{'零' if minute < 10 else ''}{cn2an.an2cn(minute)}分"


def normalize_zh(text: str) -> str:
    """'2024年5月1日涨了3.5%' -> '二零二四年五月一日涨了百分之三点五'; '¥1,299元' -> '一千二百九十九元'."""
    text = _THOUSANDS.sub("", text)
    text = _ZH_YUAN.sub(_zh_yuan, text)
    text = _ZH_FOREIGN.sub(_zh_foreign, text)
    text = _ZH_TIME.sub(_zh_time, text)
    text = _LONG_DIGITS.sub(lambda m: m.group(0).translate(_ZH_DIGITS), text)
    result: str = cn2an.transform(text, "an2cn")
    return result


def _en_date(match: re.Match[str]) -> str:
    try:
        day = dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
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


def normalize_en(text: str) -> str:
    """'On 2024-05-01 at 3:30 pm the 3rd item cost $4.50, up 5%' -> words num2words writes."""
    text = _THOUSANDS.sub("", text)
    text = _ISO_DATE.sub(_en_date, text)
    text = _EN_TIME.sub(_en_time, text)
    text = _EN_HOUR_MERIDIEM.sub(_en_hour, text)
    text = _EN_CURRENCY.sub(_en_currency, text)
    text = _EN_ORDINAL.sub(lambda m: num2words(int(m.group(1)), to="ordinal"), text)
    text = _EN_PERCENT.sub(lambda m: f"{num2words(float(m.group(1)))} percent", text)
    text = _EN_YEAR.sub(lambda m: f"{m.group(1)} {num2words(int(m.group(2)), to='year')}", text)
    text = _LONG_DIGITS.sub(lambda m: " ".join(num2words(int(d)) for d in m.group(0)), text)
    return _EN_NUMBER.sub(lambda m: num2words(float(m.group(0)) if "." in m.group(0) else int(m.group(0))), text)


def normalize_segments(segments: list[Segment], language: str) -> list[Segment]:
    """Segments with numbers in plain runs written out for `language` (zh, yue: Chinese numerals; en: words)."""
    normalizer = {"zh": normalize_zh, "yue": normalize_zh, "en": normalize_en}.get(language)
    if normalizer is None:
        return segments
    return [Segment("plain", normalizer(s.text)) if s.kind == "plain" else s for s in segments]
