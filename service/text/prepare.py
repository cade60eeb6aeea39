"""One entry point from request text to what an engine receives: checked, tag-validated, normalized."""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.text.errors import EmptyTextError
from service.text.limits import check_length
from service.text.normalize import normalize_segments
from service.text.tags import Segment, parse_tags, parse_vocabulary_tags

LANGUAGES = ("zh", "yue", "en", "ja", "hak")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
# A letter or a digit in any script: text made only of punctuation and symbols has nothing to say.
_SPEAKABLE = re.compile(r"[^\W_]")


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


def prepare_text(
    text: str,
    *,
    limit: int,
    language: str | None = None,
    field: str = "input",
    tag_vocabulary: frozenset[str] | None = None,
) -> PreparedText:
    """Raises EmptyTextError, TextTooLongError or TagError (each naming `field`). With `tag_vocabulary` (the loaded
    model's own tag tokens) exactly those tags are accepted; without it, the ARPAbet/pinyin grammar espeak reads."""
    stripped = check_length(text, limit, field=field)
    try:
        segments = parse_vocabulary_tags(stripped, tag_vocabulary) if tag_vocabulary else parse_tags(stripped)
    except ValueError as exc:
        if hasattr(exc, "field"):
            exc.field = field
        raise
    lang = language or detect_language(stripped)
    normalized = normalize_segments(segments, lang)
    if not any(s.kind != "plain" or _SPEAKABLE.search(s.text) for s in normalized):
        raise EmptyTextError("text has nothing to say (only punctuation or symbols); give words to speak", field=field)
    return PreparedText(text="".join(s.text for s in normalized), language=lang, segments=tuple(normalized))
