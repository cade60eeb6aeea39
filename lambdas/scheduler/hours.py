"""The daily open window [opening - warm-up, closing) in local time, read from OPEN_WINDOW="HH:MM-HH:MM"."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_WINDOW = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class WindowFormatError(ValueError):
    """The text is not "HH:MM-HH:MM" with a start before the end on the same day."""


@dataclass(frozen=True)
class OpenWindow:
    """When the fleet should be up on a workday: from `start` (included) to `end` (excluded), local wall-clock time.

    Same-day only: the config refuses a warm-up reaching back before midnight and a closing not after the opening.
    """

    start: dt.time
    end: dt.time

    @classmethod
    def parse(cls, text: str) -> OpenWindow:
        match = _WINDOW.match(text.strip())
        if not match:
            raise WindowFormatError(f"'{text}' is not 'HH:MM-HH:MM' (e.g. '08:45-18:00')")
        hour_a, minute_a, hour_b, minute_b = (int(part) for part in match.groups())
        try:
            window = cls(dt.time(hour_a, minute_a), dt.time(hour_b, minute_b))
        except ValueError as exc:
            raise WindowFormatError(f"'{text}' holds a time that does not exist ({exc})") from exc
        if window.end <= window.start:
            raise WindowFormatError(f"'{text}' does not end after it starts (windows past midnight are not supported)")
        return window

    def contains(self, local: dt.time) -> bool:
        """Whether a naive local wall-clock time is inside the window (closing itself is outside)."""
        return self.start <= local.replace(tzinfo=None) < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"
