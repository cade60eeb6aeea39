"""What the `holidays` library says for one (country, year), kept on disk per library version.

The library imports all ~250 of its country modules the first time any calendar is built (~0.5 s on this machine),
and every config load asks it (validation and the cost model's workdays): the cost CLI's start-up would double. The
answers only change with the library's version, so they are kept in the same cache folder as live prices
(`VOICEFLEET_CACHE_DIR`, default ~/.cache/voicefleet), one file per library version; an unreadable file is ignored
and rewritten. Nothing here decides anything: a miss asks the library.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Callable
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

Days = tuple[frozenset[dt.date], frozenset[dt.date]]


@cache
def library_version() -> str:
    return version("holidays")


def _file() -> Path:
    base = os.environ.get("VOICEFLEET_CACHE_DIR")
    folder = Path(base) if base else Path.home() / ".cache" / "voicefleet"
    return folder / f"holidays-{library_version()}.json"


@cache
def _entries() -> dict[str, Any]:
    try:
        data = json.loads(_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remembered(key: str, compute: Callable[[], Any]) -> Any:
    """The JSON-able answer stored under `key`, else `compute()`'s, stored for next time (best effort)."""
    entries = _entries()
    if key in entries:
        return entries[key]
    value = compute()
    entries[key] = value
    try:
        path = _file()
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp", encoding="utf-8") as out:
            json.dump(entries, out)
        Path(out.name).replace(path)  # atomic: a concurrent reader sees the old file or the new one
    except OSError:
        pass  # a read-only home only costs the next run the library's start-up again
    return value


def days(country: str, year: int, compute: Callable[[], Days]) -> Days:
    def as_json() -> list[list[str]]:
        off, worked = compute()
        return [sorted(d.isoformat() for d in off), sorted(d.isoformat() for d in worked)]

    off, worked = remembered(f"days/{country}/{year}", as_json)
    return frozenset(map(dt.date.fromisoformat, off)), frozenset(map(dt.date.fromisoformat, worked))
