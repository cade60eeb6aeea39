"""Per-request character limit (the main guard against GPU OOM from long or malicious input)."""

from __future__ import annotations

from service.text.errors import EmptyTextError, TextTooLongError


def check_length(text: str, limit: int, *, field: str = "input") -> str:
    """The text stripped of surrounding whitespace; raises when empty or longer than `limit` characters."""
    stripped = text.strip()
    if not stripped:
        raise EmptyTextError("text is empty; give at least one character to say", field=field)
    if len(stripped) > limit:
        raise TextTooLongError(length=len(stripped), limit=limit, field=field)
    return stripped
