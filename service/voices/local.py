"""Saved voices under one local directory (the default store): <name>/prompt.flac + <name>/voice.json.

Writes go to a temporary directory first and are renamed into place, so a reader never sees half a voice.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path

import soundfile as sf

from service.engines.base import Audio, VoicePrompt
from service.tenants.keyring import LEGACY_TENANT
from service.voices.store import (
    PromptLoader,
    SavedVoice,
    VoiceExistsError,
    VoiceNotFoundError,
    check_name,
    prompt_flac,
    read_prompt,
)


class LocalVoiceStore(PromptLoader):
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

    def load(self, name: str) -> tuple[SavedVoice, VoicePrompt]:
        # Under the lock: a DELETE (rmtree) must not land between reading the sidecar and reading the clip.
        with self._lock:
            voice = self.get(name)
            try:
                return voice, read_prompt(voice, self._dir(name) / "prompt.flac")
            except (OSError, sf.LibsndfileError) as exc:
                raise VoiceNotFoundError(name) from exc

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
    ) -> SavedVoice:
        target = self._dir(name)
        voice = SavedVoice.new(name, audio, sample_rate, text=text, language=language, owner=owner, shared=shared)
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
