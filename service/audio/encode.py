"""Encode float32 mono audio to the formats the API serves (soundfile/libsndfile, all in memory)."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Literal

import numpy as np
import soundfile as sf

from service.audio.resample import resample
from service.engines.base import Audio

AudioFormat = Literal["wav", "mp3", "opus", "aac", "flac", "pcm"]
FORMATS: tuple[AudioFormat, ...] = ("wav", "mp3", "opus", "aac", "flac", "pcm")
MEDIA_TYPES: dict[str, str] = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "opus": "audio/ogg; codecs=opus",
    "aac": "audio/aac",  # ADTS
    "flac": "audio/flac",
    "pcm": "audio/pcm",  # raw s16le mono; the rate is in the X-Sample-Rate header
}
# Ogg/Opus only codes these rates (RFC 7845 / libopus); anything else is resampled to 48 kHz for opus.
OPUS_RATES = frozenset({8000, 12000, 16000, 24000, 48000})
# MPEG-1/2/2.5 layer III sample rates libsndfile's LAME encoder accepts.
MP3_RATES = frozenset({8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000})


@dataclass(frozen=True)
class Encoded:
    data: bytes
    media_type: str
    sample_rate: int


def to_pcm16(audio: Audio) -> bytes:
    """Little-endian signed 16-bit samples; input is clipped to [-1, 1] first (loudness already left headroom)."""
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def wav_header(sample_rate: int, data_bytes: int = 0xFFFFFFFF - 36) -> bytes:
    """A 44-byte PCM16 mono WAV header; the default size marks an unknown length for streaming (as ffmpeg does)."""
    riff_size = min(36 + data_bytes, 0xFFFFFFFF)
    return (
        b"RIFF"
        + struct.pack("<I", riff_size)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", min(data_bytes, 0xFFFFFFFF))
    )


def encode(audio: Audio, sample_rate: int, fmt: AudioFormat) -> Encoded:
    """Encode to `fmt`, resampling only where the container cannot carry `sample_rate`."""
    if fmt == "pcm":
        return Encoded(to_pcm16(audio), MEDIA_TYPES[fmt], sample_rate)
    if fmt == "wav":
        # The 44-byte header and the samples, as a stream sends them: numpy's conversion costs a fraction of
        # libsndfile's virtual-file round trip (profiled on the espeak service, 2026-12-01).
        pcm = to_pcm16(audio)
        return Encoded(wav_header(sample_rate, len(pcm)) + pcm, MEDIA_TYPES[fmt], sample_rate)
    if fmt == "aac":  # libsndfile has no AAC: FFmpeg's encoder, the same one streams use
        from service.audio.stream_encode import StreamEncoder

        encoder = StreamEncoder("aac", sample_rate)
        return Encoded(encoder.feed(audio) + encoder.finish(), MEDIA_TYPES[fmt], encoder.sample_rate)
    if fmt == "opus" and sample_rate not in OPUS_RATES:
        audio, sample_rate = resample(audio, sample_rate, 48000), 48000
    if fmt == "mp3" and sample_rate not in MP3_RATES:
        audio, sample_rate = resample(audio, sample_rate, 44100), 44100
    buffer = io.BytesIO()
    options: dict[str, tuple[str, str | None]] = {
        "flac": ("FLAC", "PCM_16"),
        "mp3": ("MP3", None),
        "opus": ("OGG", "OPUS"),
    }
    container, subtype = options[fmt]
    sf.write(buffer, np.clip(audio, -1.0, 1.0), sample_rate, format=container, subtype=subtype)
    return Encoded(buffer.getvalue(), MEDIA_TYPES[fmt], sample_rate)
