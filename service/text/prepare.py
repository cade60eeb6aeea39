"""One entry point from request text to what an engine receives: checked, tag-validated, normalized."""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.text.limits import check_length
from service.text.normalize import normalize_segments
from service.text.tags import Segment, parse_tags

LANGUAGES = ("zh", "yue", "en", "ja", "hak")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")


@dataclass(frozen=True)
class PreparedText:
    text: str  # normalized, tags as written (CosyVoice3 form)
    language: str
    segments: tuple[Segment, ...]


def detect_language(text: str) -> str:
    """A best guess when the client gives none: kana -> ja, Han characters -> zh, else en."""
    if _KANA.search(text):
        return "ja"
    if _HAN.search(text):
        return "zh"
    return "en"


def prepare_text(text: str, *, limit: int, language: str | None = None, field: str = "input") -> PreparedText:
    """Raises EmptyTextError, TextTooLongError or TagError (each naming `field`)."""
    stripped = check_length(text, limit, field=field)
    try:
        segments = parse_tags(stripped)
    except ValueError as exc:
        if hasattr(exc, "field"):
            exc.field = field
        raise
    lang = language or detect_language(stripped)
    normalized = normalize_segments(segments, lang)
    return PreparedText(text="".join(s.text for s in normalized), language=lang, segments=tuple(normalized))
