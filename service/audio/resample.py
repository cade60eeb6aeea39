"""Sample-rate conversion with scipy's polyphase filter (only when the client or a container asks for a rate)."""

from __future__ import annotations

from math import gcd

import numpy as np
from scipy.signal import resample_poly

from service.engines.base import Audio


def resample(audio: Audio, from_rate: int, to_rate: int) -> Audio:
    if from_rate == to_rate or audio.size == 0:
        return audio
    common = gcd(from_rate, to_rate)
    out = resample_poly(audio.astype(np.float64), to_rate // common, from_rate // common)
    return np.asarray(out, dtype=np.float32)
