"""Loudness normalization to a target (ITU-R BS.1770-4 integrated loudness), never clipping.

The measurement is pyloudnorm's algorithm with pyloudnorm's own K-weighting coefficients, vectorized: both filter
stages in one `scipy.signal.sosfilt` call and the 400 ms gating blocks (75 % overlap) summed from 100 ms pieces,
instead of pyloudnorm's Python loop over blocks. Profiled on the espeak service (2026-12-01, cProfile): pyloudnorm's
`integrated_loudness` took about 7 ms of every 2-7 s request, most of it in the per-block loop and two float64
lfilter passes; this takes about a quarter of that (on 4.9 s of espeak speech, 2026-12-02: best of 15 runs 1.1 ms
against pyloudnorm's 5.1 ms; the filter itself is 0.85 ms of it).
tests/service/test_loudness.py holds it to pyloudnorm's result within 0.01 LU (measured: within 0.0005 LU).
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt
import pyloudnorm
import scipy.signal

from service.engines.base import Audio

# Peak ceiling after gain: -1 dBFS, the true-peak ceiling EBU R128 (Tech 3343) recommends for delivery.
PEAK_CEILING = 10 ** (-1.0 / 20)
# BS.1770 gating works on 400 ms blocks; shorter clips cannot be measured, so they are peak-normalized only.
_MIN_MEASURABLE_S = 0.4
_BLOCK_S = 0.400  # BS.1770-4 gating block
_STEP = 1.0 - 0.75  # 75 % overlap, as a fraction of the block
_ABSOLUTE_GATE_LUFS = -70.0
_RELATIVE_GATE_LU = -10.0
_OFFSET = -0.691  # BS.1770's K-weighting offset (eq. 2)


@functools.lru_cache(maxsize=16)
def _k_weighting(sample_rate: int) -> tuple[npt.NDArray[np.float32], float]:
    """pyloudnorm's K-weighting filters at this rate as second-order sections, and their combined passband gain.

    Read from a pyloudnorm Meter (its `_filters`, the very stages `integrated_loudness` applies), so the
    coefficients are pyloudnorm's and never typed twice; cached per rate because building them costs a few
    hundred microseconds."""
    stages = list(pyloudnorm.Meter(sample_rate)._filters.values())
    # float32 sections: the filter runs on float32 samples (the engines' own type) about 2x faster than in float64,
    # and the block energies it feeds differ by ~1e-7 relative (~5e-7 LU); the sums below are float64.
    sos = np.array([[*stage.b, *stage.a] for stage in stages], dtype=np.float32)
    gain = float(np.prod([stage.passband_gain for stage in stages]))
    return sos, gain


def integrated_loudness(audio: Audio, sample_rate: int) -> float:
    """Integrated loudness (LUFS) of mono audio, as pyloudnorm.Meter(sample_rate).integrated_loudness computes it;
    -inf when every block is below the gates. The audio must be at least one block (400 ms) long."""
    sos, gain = _k_weighting(sample_rate)
    weighted = scipy.signal.sosfilt(sos, np.asarray(audio, dtype=np.float32))
    n = weighted.size
    # Block bounds exactly as pyloudnorm computes them (same float expressions, truncated to int).
    blocks = int(np.round((n / sample_rate - _BLOCK_S) / (_BLOCK_S * _STEP))) + 1
    j = np.arange(blocks, dtype=np.float64)
    lower = np.minimum((_BLOCK_S * (j * _STEP) * sample_rate).astype(np.int64), n)
    upper = np.minimum((_BLOCK_S * (j * _STEP + 1) * sample_rate).astype(np.int64), n)
    # The block bounds cut the signal into 100 ms pieces: each piece's energy is one float64 sum (reduceat), and a
    # block's energy is a difference of the pieces' running total (a cumulative sum over every sample cost ~4x more).
    bounds = np.unique(np.concatenate([lower, upper, [0, n]]))
    # Squared straight into float64: reduceat over float32 squares with a float64 accumulator casts in small
    # buffers and made the whole measurement ~2x slower on espeak speech (measured 2026-12-02).
    pieces = np.add.reduceat(np.square(weighted, dtype=np.float64), bounds[:-1])
    before = np.concatenate([[0.0], np.cumsum(pieces)])  # before[k]: energy of samples[: bounds[k]]
    energy = before[np.searchsorted(bounds, upper)] - before[np.searchsorted(bounds, lower)]
    z = energy * (gain * gain / (_BLOCK_S * sample_rate))
    with np.errstate(divide="ignore", invalid="ignore"):
        block_lufs = _OFFSET + 10.0 * np.log10(z)
        above = block_lufs >= _ABSOLUTE_GATE_LUFS
        if not above.any():
            return float("-inf")
        relative = _OFFSET + 10.0 * np.log10(np.mean(z[above])) + _RELATIVE_GATE_LU
        gated = (block_lufs > relative) & (block_lufs > _ABSOLUTE_GATE_LUFS)
        if not gated.any():
            return float("-inf")
        return float(_OFFSET + 10.0 * np.log10(np.mean(z[gated])))


def normalize_loudness(audio: Audio, sample_rate: int, target_lufs: float) -> Audio:
    """Gain towards `target_lufs`, reduced where needed so no sample exceeds the -1 dBFS ceiling."""
    if audio.size == 0:
        return audio
    peak = float(np.max(np.abs(audio)))
    if peak == 0.0 or not np.isfinite(peak):
        return audio
    gain = PEAK_CEILING / peak
    if audio.size / sample_rate >= _MIN_MEASURABLE_S:
        loudness = integrated_loudness(audio, sample_rate)
        if np.isfinite(loudness):
            gain = min(gain, 10 ** ((target_lufs - loudness) / 20))
    return np.asarray(audio * gain, dtype=np.float32)
