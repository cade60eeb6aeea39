"""The voice library: named prompt clips seeded into an environment's voice store at deploy time
(`voicefleet-models voices push`), so OpenAI's voice names (alloy, nova, ...) resolve on CosyVoice3, which has no
built-in speakers.

The source directory holds, per voice, `<name>.wav|flac|mp3|ogg` and optionally `<name>.txt` (the clip's transcript;
CosyVoice3 clones best with it, and clones cross-lingually without). Every clip is checked first, with the same rules
as an upload (3-30 s, >= 16 kHz, not silent); one bad clip stops the push before anything is written. Seeded voices
are owned by tenant `admin` and shared: every key may use them, only an admin key may delete them. A voice already
in the store with the same transcript and clip length is skipped, so a re-run is a no-op; a different one is an
error unless `--replace`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from service.audio.prompt import PromptAudioError, PromptClip, decode_prompt
from service.engines.registry import OPENAI_VOICE_NAMES
from service.models_sync.manifest import SyncError, UsageError
from service.tenants.keyring import ADMIN_TENANT
from service.voices.store import SavedVoice, VoiceNameError, VoiceNotFoundError, VoiceStore, check_name

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg")
# A seeded clip is a prompt like any upload; 50 MB is far above any 30 s clip and keeps a stray file from being read.
MAX_CLIP_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class LibraryVoice:
    name: str
    clip: PromptClip
    text: str
    path: Path


@dataclass
class SeedReport:
    saved: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    missing_openai: list[str] = field(default_factory=list)
    """OpenAI voice names the store still lacks after the push (requests naming them get 422)."""


def read_library(source: Path) -> list[LibraryVoice]:
    """Every voice in `source`, decoded and checked; UsageError naming the first file that cannot be a voice."""
    if not source.is_dir():
        raise UsageError(f"--from {source}: not a directory")
    voices: list[LibraryVoice] = []
    clips = sorted(p for p in source.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
    if not clips:
        raise UsageError(f"--from {source}: no clips ({', '.join(AUDIO_SUFFIXES)}) to seed")
    names = [p.stem for p in clips]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"--from {source}: more than one clip for voice(s) {', '.join(twice)}")
    for path in clips:
        try:
            name = check_name(path.stem)
            data = path.read_bytes()
            clip = decode_prompt(data, max_bytes=MAX_CLIP_BYTES, field=str(path))
        except PromptAudioError as exc:
            raise UsageError(str(exc)) from exc
        except VoiceNameError as exc:
            raise UsageError(f"{path}: {exc}") from exc
        transcript = path.with_suffix(".txt")
        text = transcript.read_text(encoding="utf-8").strip() if transcript.is_file() else ""
        voices.append(LibraryVoice(name=name, clip=clip, text=text, path=path))
    return voices


def _same(existing: SavedVoice, voice: LibraryVoice) -> bool:
    duration = round(voice.clip.audio.size / voice.clip.sample_rate, 3)
    return (
        existing.text == voice.text
        and abs(existing.duration_s - duration) < 0.002
        and existing.owner == ADMIN_TENANT
        and existing.shared
    )


def seed(store: VoiceStore, voices: list[LibraryVoice], *, replace: bool = False) -> SeedReport:
    """Save every voice as a shared admin-owned voice; conflicts (a different voice of that name) raise SyncError
    before any is written unless `replace`."""
    report = SeedReport()
    existing: dict[str, SavedVoice] = {}
    for voice in voices:
        try:
            existing[voice.name] = store.get(voice.name)
        except VoiceNotFoundError:
            continue
    conflicts = [v.name for v in voices if v.name in existing and not _same(existing[v.name], v)]
    if conflicts and not replace:
        raise SyncError(
            f"the store already has different voice(s) named {', '.join(conflicts)}; "
            "pass --replace to overwrite them (clients using them get the new clip)"
        )
    for voice in voices:
        if voice.name in existing and voice.name not in conflicts:
            report.skipped.append(voice.name)
            continue
        if voice.name in conflicts:
            store.delete(voice.name)
            report.replaced.append(voice.name)
        else:
            report.saved.append(voice.name)
        store.save(
            voice.name,
            voice.clip.audio,
            voice.clip.sample_rate,
            text=voice.text,
            language=None,
            owner=ADMIN_TENANT,
            shared=True,
        )
    present = {v.name for v in store.list()}
    report.missing_openai = [name for name in OPENAI_VOICE_NAMES if name not in present]
    return report
