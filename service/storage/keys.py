"""Object keys and metadata for finished audio: `audio/YYYY/MM/DD/<id>.<ext>`, nothing from a request unchecked."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from urllib.parse import quote

AUDIO_PREFIX = "audio/"
# What the service encodes (service/audio/encode.py) and the content types S3 and CloudFront serve them with.
CONTENT_TYPES: dict[str, str] = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "pcm": "application/octet-stream",
}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class StorageKeyError(ValueError):
    """An audio id, extension or prefix that cannot be part of an object key."""


def new_audio_id() -> str:
    return uuid.uuid4().hex


def audio_key(audio_id: str, ext: str, when: dt.datetime | None = None, *, prefix: str = AUDIO_PREFIX) -> str:
    """`audio/2026/03/14/<id>.wav` (UTC date); refuses ids and extensions that could escape the key scheme."""
    if not _ID.fullmatch(audio_id):
        raise StorageKeyError(f"audio id '{audio_id}' must be 1-64 letters, digits, '_' or '-'")
    if ext not in CONTENT_TYPES:
        raise StorageKeyError(f"format '{ext}' is not one of {', '.join(CONTENT_TYPES)}")
    if prefix and (not prefix.endswith("/") or prefix.startswith("/") or ".." in prefix):
        raise StorageKeyError(f"prefix '{prefix}' must be relative and end with '/' (e.g. 'audio/')")
    day = (when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return f"{prefix}{day:%Y/%m/%d}/{audio_id}.{ext}"


def text_hash(text: str) -> str:
    """SHA-256 of the text: lets operators find duplicates without storing what was said."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def audio_metadata(*, engine: str, voice: str | None, text: str, duration_s: float) -> dict[str, str]:
    """S3 user metadata (x-amz-meta-*); values percent-encoded because S3 metadata must be ASCII."""
    return {
        "engine": quote(engine, safe=""),
        "voice": quote(voice or "", safe=""),
        "text-sha256": text_hash(text),
        "duration-s": f"{duration_s:.3f}",
    }
