"""Loudness normalization to a target (ITU-R BS.1770 integrated loudness via pyloudnorm), never clipping."""

from __future__ import annotations

import numpy as np
import pyloudnorm

from service.engines.base import Audio

# Peak ceiling after gain: -1 dBFS, the true-peak ceiling EBU R128 (Tech 3343) recommends for delivery.
PEAK_CEILING = 10 ** (-1.0 / 20)
# BS.1770 gating works on 400 ms blocks; shorter clips cannot be measured, so they are peak-normalized only.
_MIN_MEASURABLE_S = 0.4


def normalize_loudness(audio: Audio, sample_rate: int, target_lufs: float) -> Audio:
    """Gain towards `target_lufs`, reduced where needed so no sample exceeds the -1 dBFS ceiling."""
    if audio.size == 0:
        return audio
    peak = float(np.max(np.abs(audio)))
    if peak == 0.0 or not np.isfinite(peak):
        return audio
    gain = PEAK_CEILING / peak
    if audio.size / sample_rate >= _MIN_MEASURABLE_S:
        loudness = pyloudnorm.Meter(sample_rate).integrated_loudness(audio.astype(np.float64))
        if np.isfinite(loudness):
            gain = min(gain, 10 ** ((target_lufs - loudness) / 20))
    return np.asarray(audio * gain, dtype=np.float32)
