"""Saved voices behind a small interface; the local-disk store is the default, part 2 adds an S3 store.

A voice is a prompt clip (stored as 16-bit FLAC at its own rate: lossless, about half the size of WAV) and a JSON
sidecar with its transcript and language. Writes go to a temporary name first and are renamed into place, so a
reader never sees half a voice.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import soundfile as sf

from service.engines.base import Audio, VoicePrompt

VOICE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")  # used with fullmatch: `$` would let "anna\n" through


class VoiceNameError(ValueError):
    """A voice name outside [a-z0-9_-] (1-64 characters, starting with a letter or digit)."""


class VoiceNotFoundError(KeyError):
    """No saved voice of that name."""


class VoiceExistsError(ValueError):
    """A voice of that name exists already (delete it first)."""


@dataclass(frozen=True)
class SavedVoice:
    name: str
    text: str
    language: str | None
    sample_rate: int
    duration_s: float
    created_at: str

    @classmethod
    def new(cls, name: str, audio: Audio, sample_rate: int, *, text: str, language: str | None) -> SavedVoice:
        """The record of a voice saved now from this prompt clip (both stores write the same fields)."""
        return cls(
            name=name,
            text=text,
            language=language,
            sample_rate=sample_rate,
            duration_s=round(audio.size / sample_rate, 3),
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )


def prompt_flac(audio: Audio, sample_rate: int) -> bytes:
    """A prompt clip as stored by both voice stores: 16-bit FLAC (lossless, about half the size of WAV)."""
    flac = io.BytesIO()
    sf.write(flac, audio, sample_rate, format="FLAC", subtype="PCM_16")
    return flac.getvalue()


def check_name(name: str) -> str:
    if not VOICE_NAME.fullmatch(name):
        raise VoiceNameError(
            f"voice name '{name}' is invalid: use 1-64 lowercase letters, digits, '-' or '_' (e.g. 'anna-zh')"
        )
    return name


class VoiceStore(Protocol):
    """What the API needs from a voice store (local disk here; S3 in part 2)."""

    def list(self) -> list[SavedVoice]: ...

    def get(self, name: str) -> SavedVoice: ...

    def load_prompt(self, name: str) -> VoicePrompt: ...

    def save(self, name: str, audio: Audio, sample_rate: int, *, text: str, language: str | None) -> SavedVoice: ...

    def delete(self, name: str) -> None: ...


class LocalVoiceStore:
    """Voices under one directory: <name>/prompt.flac + <name>/voice.json."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()

    def _dir(self, name: str) -> Path:
        return self.root / check_name(name)

    def list(self) -> list[SavedVoice]:
        if not self.root.is_dir():
            return []
        voices = []
        for meta in sorted(self.root.glob("*/voice.json")):
            try:
                voices.append(SavedVoice(**json.loads(meta.read_text(encoding="utf-8"))))
            except (OSError, ValueError, TypeError):
                continue  # deleted meanwhile, or a damaged sidecar: hides one voice, does not break the listing
        return voices

    def get(self, name: str) -> SavedVoice:
        meta = self._dir(name) / "voice.json"
        try:
            return SavedVoice(**json.loads(meta.read_text(encoding="utf-8")))
        except FileNotFoundError as exc:
            raise VoiceNotFoundError(name) from exc

    def load_prompt(self, name: str) -> VoicePrompt:
        # Under the lock: a DELETE (rmtree) must not land between reading the sidecar and reading the clip.
        with self._lock:
            voice = self.get(name)
            try:
                audio, rate = sf.read(self._dir(name) / "prompt.flac", dtype="float32")
            except (OSError, sf.LibsndfileError) as exc:
                raise VoiceNotFoundError(name) from exc
        return VoicePrompt(audio=np.asarray(audio, dtype=np.float32), sample_rate=int(rate), text=voice.text, name=name)

    def save(self, name: str, audio: Audio, sample_rate: int, *, text: str, language: str | None) -> SavedVoice:
        target = self._dir(name)
        voice = SavedVoice.new(name, audio, sample_rate, text=text, language=language)
        flac = prompt_flac(audio, sample_rate)
        with self._lock:
            if target.exists():
                raise VoiceExistsError(f"voice '{name}' exists already; delete it first (DELETE /v1/voices/{name})")
            self.root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=self.root))
            (staging / "prompt.flac").write_bytes(flac)
            (staging / "voice.json").write_text(json.dumps(asdict(voice), ensure_ascii=False), encoding="utf-8")
            staging.replace(target)
        return voice

    def delete(self, name: str) -> None:
        target = self._dir(name)
        with self._lock:
            if not (target / "voice.json").exists():
                raise VoiceNotFoundError(name)
            shutil.rmtree(target)
