"""The audio the service answers with, made from an engine's output: loudness-normalized, resampled where the
request or the format asks, encoded. One function for the whole-audio routes (run in the engine's worker thread
right after the engine call) and for `tts-bench overhead`'s in-process side, so both do the same work."""

from __future__ import annotations

from service.audio.encode import AudioFormat, Encoded, encode
from service.audio.loudness import normalize_loudness
from service.audio.resample import resample
from service.engines.base import Audio

# `pcm` has no header to carry its rate: it is 24 kHz 16-bit mono little-endian on every engine (what OpenAI's
# clients assume), unless the request names a sample_rate.
PCM_RATE = 24000


def output_rate(fmt: AudioFormat, sample_rate: int | None) -> int | None:
    """The rate the answer must have: the request's `sample_rate`, else 24 kHz for pcm, else None (the engine's)."""
    return sample_rate or (PCM_RATE if fmt == "pcm" else None)


def deliver(
    audio: Audio, rate: int, fmt: AudioFormat, *, loudness_lufs: float | None, sample_rate: int | None = None
) -> Encoded:
    """`audio` at `rate` as the service answers it: towards `loudness_lufs` (None: as the engine made it), at
    `output_rate(fmt, sample_rate)`, encoded as `fmt`."""
    if loudness_lufs is not None:
        audio = normalize_loudness(audio, rate, loudness_lufs)
    target = output_rate(fmt, sample_rate)
    if target and target != rate:
        audio, rate = resample(audio, rate, target), target
    return encode(audio, rate, fmt)
