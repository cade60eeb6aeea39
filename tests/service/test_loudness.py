"""The vectorized BS.1770 measurement (service/audio/loudness.py) against pyloudnorm itself, the reference it
replaces for speed: real speech (espeak) at the rates the engines produce, silence gaps that the gates must drop,
noise, tones, a signal below the absolute gate, and lengths that end mid-block."""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt
import pyloudnorm
import pytest

from service.audio.loudness import integrated_loudness, normalize_loudness
from service.audio.resample import resample
from service.engines.base import SynthesisRequest
from service.engines.espeak import EspeakEngine

TOLERANCE_LU = 0.01


@functools.cache
def _speech() -> tuple[npt.NDArray[np.float32], int]:
    engine = EspeakEngine()
    engine.load()
    result = engine.synthesize_batch([SynthesisRequest(text="今天天气很好，我们一起去公园散步吧。", language="zh")])[0]
    return result.audio, result.sample_rate


def _reference(audio: npt.NDArray[np.float32], rate: int) -> float:
    return float(pyloudnorm.Meter(rate).integrated_loudness(audio.astype(np.float64)))


def _signals(rate: int) -> dict[str, npt.NDArray[np.float32]]:
    speech, speech_rate = _speech()
    speech = resample(speech, speech_rate, rate) if rate != speech_rate else speech
    rng = np.random.default_rng(7)
    t = np.arange(int(2.3 * rate)) / rate
    gap = np.zeros(int(1.7 * rate), dtype=np.float32)
    return {
        "speech": speech,
        "speech with silences (gated blocks)": np.concatenate([gap, speech, gap, 0.05 * speech, gap]),
        "white noise": (0.2 * rng.standard_normal(int(3.1 * rate))).astype(np.float32),
        "low tone + high tone": (0.3 * np.sin(2 * np.pi * 60 * t) + 0.1 * np.sin(2 * np.pi * 5000 * t)).astype(
            np.float32
        ),
        "one block exactly": speech[: int(0.4 * rate)],
        "ends mid-block": speech[: int(1.337 * rate)],
    }


@pytest.mark.parametrize("rate", [16000, 22050, 24000, 44100, 48000])
def test_integrated_loudness_equals_pyloudnorm(rate: int) -> None:
    for name, audio in _signals(rate).items():
        ours, theirs = integrated_loudness(audio, rate), _reference(audio, rate)
        assert ours == pytest.approx(theirs, abs=TOLERANCE_LU), f"{name} at {rate} Hz: {ours} vs {theirs}"


def test_below_the_absolute_gate_is_minus_infinity_like_pyloudnorm() -> None:
    quiet = np.full(24000, 1e-6, dtype=np.float32)
    assert integrated_loudness(quiet, 24000) == _reference(quiet, 24000) == float("-inf")


def test_normalized_speech_measures_at_the_target_by_pyloudnorm() -> None:
    speech, rate = _speech()
    out = normalize_loudness(0.05 * speech, rate, target_lufs=-20.0)
    assert _reference(out, rate) == pytest.approx(-20.0, abs=0.05)
