"""Incremental encoders: audio goes out in the client's format as the engine makes it, not after the last segment.

wav (a header with an unknown length, then PCM16) and pcm are written directly; mp3, opus (in Ogg), aac (ADTS) and
flac go through FFmpeg's encoders and muxers (PyAV), writing into a sink that hands back whatever bytes each segment
produced. The sink is not seekable, so muxers that would go back to patch a header (FLAC's total sample count)
leave it as "unknown", which decoders accept for streams.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from service.audio.resample import resample
from service.engines.base import Audio

# Container and encoder per format (FFmpeg names) and the rates each encoder takes.
_CODECS: dict[str, tuple[str, str]] = {
    "mp3": ("mp3", "libmp3lame"),
    "opus": ("ogg", "libopus"),
    "aac": ("adts", "aac"),
    "flac": ("flac", "flac"),
}
_RATES: dict[str, frozenset[int]] = {
    "mp3": frozenset({8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000}),
    "opus": frozenset({8000, 12000, 16000, 24000, 48000}),  # RFC 7845 / libopus
    "aac": frozenset({8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000}),
    "flac": frozenset(range(1, 655351)),
}
# Where the source rate does not fit: Opus's own 48 kHz (as the whole-file encoder does), 24 kHz otherwise.
_FALLBACK_RATE = {"mp3": 24000, "opus": 48000, "aac": 24000, "flac": 24000}
# Ogg pages of at most 100 ms, so opus audio leaves with each segment instead of once a second.
_MUXER_OPTIONS = {"opus": {"page_duration": "100000"}}


class _Sink:
    """A write-only, non-seekable file for the muxer; `take()` returns what was written since the last call."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def write(self, data: bytes) -> int:
        self._buffer += data
        return len(data)

    def take(self) -> bytes:
        out = bytes(self._buffer)
        self._buffer.clear()
        return out


def _pcm16(audio: Audio) -> bytes:
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


class StreamEncoder:
    """Feed float32 mono segments at `source_rate`; each `feed` returns the encoded bytes ready so far, `finish`
    the rest. `sample_rate` is the rate of the encoded audio (the source rate unless the codec cannot carry it)."""

    def __init__(self, fmt: str, source_rate: int, target_rate: int | None = None) -> None:
        self.fmt = fmt
        self.source_rate = source_rate
        rate = target_rate or source_rate
        if fmt in _RATES and rate not in _RATES[fmt]:
            rate = _FALLBACK_RATE[fmt]
        self.sample_rate = rate
        self._started = False
        self._container: Any = None
        self._stream: Any = None
        self._sink = _Sink()
        if fmt in _CODECS:
            import av  # FFmpeg, only where a compressed format is asked for

            container_format, codec = _CODECS[fmt]
            self._container = av.open(self._sink, "w", format=container_format, options=_MUXER_OPTIONS.get(fmt, {}))
            self._stream = self._container.add_stream(codec, rate=rate)
            self._stream.layout = "mono"
        elif fmt not in ("wav", "pcm"):
            raise ValueError(f"no stream encoder for {fmt!r}")

    def _resampled(self, audio: Audio) -> Audio:
        return audio if self.sample_rate == self.source_rate else resample(audio, self.source_rate, self.sample_rate)

    def header(self) -> bytes:
        if self.fmt == "wav" and not self._started:
            from service.audio.encode import wav_header

            self._started = True
            return wav_header(self.sample_rate)
        return b""

    def feed(self, audio: Audio) -> bytes:
        audio = self._resampled(audio)
        if self._container is None:
            return self.header() + _pcm16(audio)
        import av

        frame = av.AudioFrame.from_ndarray(
            np.clip(audio, -1.0, 1.0).astype(np.float32).reshape(1, -1), format="flt", layout="mono"
        )
        frame.sample_rate = self.sample_rate
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        return self._sink.take()

    def finish(self) -> bytes:
        if self._container is None:
            return self.header()
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        self._container = None
        return self._sink.take()

    def close(self) -> None:
        """Release the encoder without finishing (the stream was cut)."""
        if self._container is not None:
            try:
                self._container.close()
            finally:
                self._container = None
