"""The voice store interface and what its implementations share: the record, the name rule, the errors, the
stored clip format. Implementations beside it: service/voices/local.py (one directory, the default) and
service/voices/s3.py (the outputs bucket, shared by every instance of the fleet).

A voice is a prompt clip (stored as 16-bit FLAC at its own rate: lossless, about half the size of WAV) and a JSON
sidecar with its transcript, language, owner (the tenant whose key saved it) and `shared` flag; every store makes a
voice appear whole or not at all. A sidecar from before tenants has no owner: it belongs to tenant `default`, the
tenant of the old single-key format, so upgrading changes no one's access. Names are one namespace per store.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from dataclasses import dataclass
from typing import BinaryIO, Protocol

import numpy as np
import soundfile as sf

from service.engines.base import Audio, VoicePrompt
from service.tenants.keyring import LEGACY_TENANT

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
    owner: str = LEGACY_TENANT
    shared: bool = False
    """Usable (never deletable) by every tenant, e.g. the voice library seeded at deploy time."""

    @classmethod
    def new(
        cls,
        name: str,
        audio: Audio,
        sample_rate: int,
        *,
        text: str,
        language: str | None,
        owner: str = LEGACY_TENANT,
        shared: bool = False,
    ) -> SavedVoice:
        """The record of a voice saved now from this prompt clip (both stores write the same fields)."""
        return cls(
            name=name,
            text=text,
            language=language,
            sample_rate=sample_rate,
            duration_s=round(audio.size / sample_rate, 3),
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            owner=owner,
            shared=shared,
        )


def prompt_flac(audio: Audio, sample_rate: int) -> bytes:
    """A prompt clip as stored by both voice stores: 16-bit FLAC (lossless, about half the size of WAV)."""
    flac = io.BytesIO()
    sf.write(flac, audio, sample_rate, format="FLAC", subtype="PCM_16")
    return flac.getvalue()


def read_prompt(voice: SavedVoice, flac: str | os.PathLike[str] | BinaryIO) -> VoicePrompt:
    """A stored clip (a path or an open file) decoded back as the prompt the engines take: float32 at its rate."""
    audio, rate = sf.read(flac, dtype="float32")
    audio = np.asarray(audio, dtype=np.float32)
    return VoicePrompt(audio=audio, sample_rate=int(rate), text=voice.text, name=voice.name)


class PromptLoader:
    """`load_prompt` once for every store: the prompt half of its `load`."""

    def load(self, name: str) -> tuple[SavedVoice, VoicePrompt]:
        raise NotImplementedError

    def load_prompt(self, name: str) -> VoicePrompt:
        return self.load(name)[1]


def check_name(name: str) -> str:
    if not VOICE_NAME.fullmatch(name):
        raise VoiceNameError(
            f"voice name '{name}' is invalid: use 1-64 lowercase letters, digits, '-' or '_' (e.g. 'anna-zh')"
        )
    return name


class VoiceStore(Protocol):
    """What the API needs from a voice store (LocalVoiceStore, S3VoiceStore)."""

    def list(self) -> list[SavedVoice]: ...

    def get(self, name: str) -> SavedVoice: ...

    def load(self, name: str) -> tuple[SavedVoice, VoicePrompt]: ...

    def load_prompt(self, name: str) -> VoicePrompt: ...

    def save(
        self,
        name: str,
        audio: Audio,
        sample_rate: int,
        *,
        text: str,
        language: str | None,
        owner: str = LEGACY_TENANT,
        shared: bool = False,
    ) -> SavedVoice: ...

    def delete(self, name: str) -> None: ...
