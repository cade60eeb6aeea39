"""Uploaded prompt clips, decoded and checked before anything reaches an engine.

The limits follow CosyVoice3's own: prompt audio of at least 16 kHz and at most 30 s; 3 s is the shortest clip it
clones from (the model card's "3-second" voice cloning). Rate, channels and length are read from the header and
checked before anything is decoded: a compressed upload (FLAC of near-silence shrinks ~2000:1) is no bound on the
memory its samples take, so these limits are.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from service.engines.base import Audio

log = logging.getLogger(__name__)

MIN_PROMPT_S = 3.0
MAX_PROMPT_S = 30.0
MIN_PROMPT_RATE = 16000
# CosyVoice3 hears prompts at 16 kHz (speech tokenizer) and 24 kHz (features), espeak only their pitch and pace, and
# no answer is sampled above 48 kHz: nothing gains from more. With MAX_PROMPT_CHANNELS and the header's length
# (<= 1.5 x MAX_PROMPT_S) a clip decodes to at most 48,000 x 45 x 2 = 4.3 M float32 samples (17 MB).
MAX_PROMPT_RATE = 48000
MAX_PROMPT_CHANNELS = 2
# libsndfile's names for the containers we accept (wav, flac, mp3, ogg vorbis/opus).
ACCEPTED_CONTAINERS = frozenset({"WAV", "WAVEX", "FLAC", "MP3", "OGG"})


class PromptAudioError(ValueError):
    """An uploaded clip that cannot be used; `status` is the HTTP status the API answers with."""

    def __init__(self, message: str, *, field: str = "prompt_audio", status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass(frozen=True)
class PromptClip:
    audio: Audio  # mono float32
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return self.audio.size / self.sample_rate


def decode_prompt(data: bytes, *, max_bytes: int, field: str = "prompt_audio") -> PromptClip:
    """Decode and check an uploaded clip; raises PromptAudioError naming what is wrong."""
    if len(data) > max_bytes:
        raise PromptAudioError(f"{field} is {len(data)} bytes; the limit is {max_bytes} bytes", field=field, status=413)
    if not data:
        raise PromptAudioError(f"{field} is empty", field=field)
    try:
        with sf.SoundFile(io.BytesIO(data)) as clip:
            if clip.format not in ACCEPTED_CONTAINERS:
                raise PromptAudioError(f"{field} is {clip.format}; send wav, flac, mp3 or ogg", field=field, status=415)
            rate = clip.samplerate
            # Refuse by header before decoding, so a forged length, rate or channel count cannot make us decode
            # hours of audio (or 8 channels at 655 kHz: 608 MB of float32 from a 165 KB FLAC).
            if clip.channels > MAX_PROMPT_CHANNELS:
                message = (
                    f"{field} has {clip.channels} channels; at most {MAX_PROMPT_CHANNELS} (mono or stereo) are accepted"
                )
                raise PromptAudioError(message, field=field)
            if rate > MAX_PROMPT_RATE:
                message = f"{field} is sampled at {rate} Hz; at most {MAX_PROMPT_RATE} Hz is accepted (resample it)"
                raise PromptAudioError(message, field=field)
            if rate < MIN_PROMPT_RATE:
                message = f"{field} is sampled at {rate} Hz; at least {MIN_PROMPT_RATE} Hz is needed"
                raise PromptAudioError(message, field=field)
            if clip.frames > 0 and clip.frames / rate > MAX_PROMPT_S * 1.5:
                raise PromptAudioError(_too_long(field, clip.frames / rate), field=field)
            samples = clip.read(dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, EOFError) as exc:
        # libsndfile's own text names the in-memory file object ("Error opening <_io.BytesIO object at 0x...>")
        # and its reasons mislead for uploads (a cut mp3 reads "File does not exist"): log it, answer in words.
        log.info("prompt decode failed: %s %s", type(exc).__name__, getattr(exc, "error_string", exc))
        raise PromptAudioError(_undecodable(field), field=field) from exc
    audio = np.ascontiguousarray(samples.mean(axis=1), dtype=np.float32)
    duration = audio.size / rate
    if duration < MIN_PROMPT_S:
        raise PromptAudioError(f"{field} lasts {duration:.2f} s; at least {MIN_PROMPT_S:.0f} s is needed", field=field)
    if duration > MAX_PROMPT_S:
        raise PromptAudioError(_too_long(field, duration), field=field)
    if not np.all(np.isfinite(audio)):
        raise PromptAudioError(f"{field} holds NaN or infinite samples", field=field)
    if float(np.max(np.abs(audio))) < 1e-3:
        raise PromptAudioError(f"{field} is silent", field=field)
    return PromptClip(audio=audio, sample_rate=rate)


def _too_long(field: str, duration: float) -> str:
    return f"{field} lasts {duration:.2f} s; at most {MAX_PROMPT_S:.0f} s is accepted (trim it)"


def _undecodable(field: str) -> str:
    return (
        f"{field} could not be decoded as audio (format not recognised or file corrupt); "
        "send a complete wav, flac, mp3 or ogg file"
    )
