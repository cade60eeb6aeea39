"""Numbers and dates written out as words, so every engine reads them the same way.

Chinese uses cn2an (an2cn transform: dates, decimals, percentages); English uses num2words. Only plain text runs
are touched: pronunciation tags such as [AY0] keep their digits.
"""

from __future__ import annotations

import datetime as dt
import re

import cn2an
from num2words import num2words

from service.text.tags import Segment

_ZH_DIGITS = str.maketrans("0123456789", "零一二三四五六七八九")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# Digit runs this long are identifiers (phone numbers, codes): read digit by digit, not as a quantity.
_LONG_DIGITS = re.compile(r"\d{7,}")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_EN_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_EN_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?%")
_EN_CURRENCY = re.compile(r"([$€£])(\d+(?:\.\d{1,2})?)")
_EN_YEAR = re.compile(r"\b(in|since|until|by|of|year)\s+(1[1-9]\d\d|20\d\d)\b", re.IGNORECASE)
_EN_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
_CURRENCY_CODES = {"$": "USD", "€": "EUR", "£": "GBP"}


def normalize_zh(text: str) -> str:
    """'2024年5月1日涨了3.5%' -> '二零二四年五月一日涨了百分之三点五'."""
    text = _THOUSANDS.sub("", text)
    text = _LONG_DIGITS.sub(lambda m: m.group(0).translate(_ZH_DIGITS), text)
    result: str = cn2an.transform(text, "an2cn")
    return result


def _en_date(match: re.Match[str]) -> str:
    try:
        day = dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return match.group(0)
    return f"{day.strftime('%B')} {num2words(day.day, to='ordinal')}, {num2words(day.year, to='year')}"


def normalize_en(text: str) -> str:
    """'On 2024-05-01 the 3rd item cost $4.50, up 5%' -> words num2words writes."""
    text = _THOUSANDS.sub("", text)
    text = _ISO_DATE.sub(_en_date, text)
    text = _EN_CURRENCY.sub(
        lambda m: num2words(float(m.group(2)), to="currency", currency=_CURRENCY_CODES[m.group(1)]), text
    )
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
