"""Cheap measurements of a voice clip: median pitch and speaking rate (to steer engines that cannot clone)."""

from __future__ import annotations

import numpy as np

from service.engines.base import Audio

# Human speaking pitch lies within about 60-400 Hz; autocorrelation peaks outside it are harmonics or noise.
_F0_MIN, _F0_MAX = 60.0, 400.0


def median_pitch_hz(audio: Audio, sample_rate: int, frame_s: float = 0.04) -> float | None:
    """Median F0 over voiced frames (normalized autocorrelation), or None when no frame is voiced."""
    frame = int(sample_rate * frame_s)
    lag_min, lag_max = int(sample_rate / _F0_MAX), int(sample_rate / _F0_MIN)
    if audio.size < frame or frame <= lag_max:
        return None
    threshold = 0.1 * float(np.max(np.abs(audio)))
    pitches: list[float] = []
    for start in range(0, audio.size - frame, frame):
        chunk = audio[start : start + frame].astype(np.float64)
        if np.max(np.abs(chunk)) < threshold:
            continue
        chunk = chunk - chunk.mean()
        corr = np.correlate(chunk, chunk, mode="full")[frame - 1 :]
        if corr[0] <= 0:
            continue
        corr = corr / corr[0]
        lag = lag_min + int(np.argmax(corr[lag_min:lag_max]))
        if corr[lag] > 0.5:  # periodic enough to count as voiced
            pitches.append(sample_rate / lag)
    return float(np.median(pitches)) if pitches else None


def voiced_seconds(audio: Audio, sample_rate: int, frame_s: float = 0.02) -> float:
    """Seconds of frames louder than 10% of the clip's peak frame energy (pauses excluded)."""
    frame = max(1, int(sample_rate * frame_s))
    usable = audio[: audio.size - audio.size % frame].reshape(-1, frame)
    if usable.size == 0:
        return 0.0
    energy = np.sqrt(np.mean(usable.astype(np.float64) ** 2, axis=1))
    return float(np.sum(energy > 0.1 * energy.max()) * frame_s) if energy.max() > 0 else 0.0
