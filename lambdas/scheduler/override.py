"""The manual override tag on a group: "on", "off", or "on-until=<ISO datetime>"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

OverrideMode = Literal["on", "off"]
_UNTIL = "on-until="


class OverrideFormatError(ValueError):
    """The override tag holds something other than the three accepted forms."""


@dataclass(frozen=True)
class Override:
    mode: OverrideMode
    until: dt.datetime | None = None  # aware; only for "on-until="

    @classmethod
    def parse(cls, text: str, tz: ZoneInfo) -> Override:
        """Parse a tag value; a naive `on-until` time is read in the schedule's timezone (what a person means)."""
        value = text.strip()
        if value.lower() in ("on", "off"):
            return cls("on" if value.lower() == "on" else "off")
        if value.lower().startswith(_UNTIL):
            stamp = value[len(_UNTIL) :].strip()
            try:
                # Upper case: RFC 3339 allows a lowercase 't' and 'z' ("...T21:00z"), fromisoformat does not.
                until = dt.datetime.fromisoformat(stamp.upper())
            except ValueError as exc:
                raise OverrideFormatError(
                    f"'{text}': '{stamp}' is not an ISO datetime (e.g. on-until=2026-03-09T20:00)"
                ) from exc
            if until.tzinfo is None:
                until = until.replace(tzinfo=tz)
            return cls("on", until)
        raise OverrideFormatError(f"'{text}' is not one of 'on', 'off', 'on-until=<ISO datetime>'")

    def expired(self, now: dt.datetime) -> bool:
        return self.until is not None and now >= self.until

    def describe(self) -> str:
        return f"on until {self.until.isoformat()}" if self.until else self.mode
