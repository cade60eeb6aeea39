"""Audio stage: encoders decode back, loudness never clips, resampling, prompt checks."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from service.audio.analysis import median_pitch_hz
from service.audio.encode import encode, wav_header
from service.audio.loudness import PEAK_CEILING, normalize_loudness
from service.audio.prompt import PromptAudioError, decode_prompt
from service.audio.resample import resample
from tests.service.conftest import flac_bomb

RATE = 22050


def _tone(seconds: float = 2.0, freq: float = 220.0, amplitude: float = 0.5, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize(("fmt", "rate"), [("wav", 22050), ("flac", 22050), ("mp3", 22050), ("opus", 48000)])
def test_encode_round_trip(fmt: str, rate: int) -> None:
    encoded = encode(_tone(), RATE, fmt)  # type: ignore[arg-type]
    audio, decoded_rate = sf.read(io.BytesIO(encoded.data), dtype="float32")
    assert decoded_rate == rate == encoded.sample_rate
    assert abs(audio.size / rate - 2.0) < 0.1
    assert np.sqrt(np.mean(audio**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.15)


def test_pcm_is_s16le() -> None:
    encoded = encode(np.array([0.0, 0.5, -1.0, 2.0], dtype=np.float32), RATE, "pcm")
    assert np.frombuffer(encoded.data, dtype="<i2").tolist() == [0, 16383, -32767, 32767]


def test_streaming_wav_header_is_readable() -> None:
    pcm = encode(_tone(1.0), RATE, "pcm").data
    info = sf.info(io.BytesIO(wav_header(RATE, len(pcm)) + pcm))
    assert info.samplerate == RATE
    assert info.frames == RATE


@pytest.mark.parametrize("amplitude", [0.01, 0.3, 0.99])
def test_loudness_never_clips(amplitude: float) -> None:
    out = normalize_loudness(_tone(amplitude=amplitude), RATE, target_lufs=-14.0)
    assert np.max(np.abs(out)) <= PEAK_CEILING + 1e-6


def test_loudness_reaches_target_when_headroom_allows() -> None:
    import pyloudnorm

    speechy = _tone(amplitude=0.05) * np.abs(np.sin(np.linspace(0, 20, 2 * RATE))).astype(np.float32)
    out = normalize_loudness(speechy, RATE, target_lufs=-23.0)
    assert pyloudnorm.Meter(RATE).integrated_loudness(out.astype(np.float64)) == pytest.approx(-23.0, abs=0.5)


def test_resample_keeps_duration_and_pitch() -> None:
    out = resample(_tone(freq=200.0), RATE, 16000)
    assert out.size == 32000
    assert median_pitch_hz(out, 16000) == pytest.approx(200.0, rel=0.03)


def _wav(audio: np.ndarray, rate: int, subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, audio, rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


def test_prompt_decode_mixes_stereo_down() -> None:
    stereo = np.stack([_tone(4.0), _tone(4.0)], axis=1)
    clip = decode_prompt(_wav(stereo, 22050), max_bytes=10_000_000)
    assert clip.audio.ndim == 1
    assert clip.duration_s == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("data", "needle", "status"),
    [
        (b"garbage" * 50, "could not be decoded as audio", 400),
        (_wav(_tone(2.0), RATE), "at least 3 s", 400),
        (_wav(_tone(31.0), RATE), "at most 30 s", 400),
        (_wav(_tone(5.0, rate=8000), 8000), "16000 Hz", 400),
        (_wav(np.full(RATE * 4, np.nan, dtype=np.float32), RATE, "FLOAT"), "NaN", 400),
        (_wav(_tone(4.0), RATE), "limit", 413),
    ],
)
def test_prompt_checks(data: bytes, needle: str, status: int) -> None:
    limit = 1000 if status == 413 else 10_000_000
    with pytest.raises(PromptAudioError, match=needle) as info:
        decode_prompt(data, max_bytes=limit)
    assert info.value.status == status
    assert info.value.field == "prompt_audio"


@pytest.mark.parametrize(
    ("shape", "needle"),
    [
        pytest.param({}, "has 8 channels; at most 2", id="bomb-8ch-192kHz"),
        pytest.param({"channels": 3, "rate": 16000, "seconds": 4}, "has 3 channels; at most 2", id="3-channels"),
        pytest.param({"channels": 1, "rate": 96000, "seconds": 4}, "96000 Hz; at most 48000 Hz", id="96kHz-mono"),
    ],
)
def test_prompt_too_wide_or_too_fast_is_refused_before_it_is_decoded(
    shape: dict[str, int], needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: only the length was read from the header, so a ~45 KB FLAC of 8 channels at 192 kHz (the audit's:
    165 KB at 655,350 Hz) passed and decoded to hundreds of MB."""

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("the clip was decoded before it was refused")

    data = flac_bomb(**shape)
    monkeypatch.setattr(sf.SoundFile, "read", no_decoding)
    with pytest.raises(PromptAudioError, match=needle) as info:
        decode_prompt(data, max_bytes=10_000_000)
    assert (info.value.status, info.value.field) == (400, "prompt_audio")


def test_prompt_at_the_rate_and_channel_limits_is_accepted() -> None:
    stereo = np.stack([_tone(4.0, rate=48000), _tone(4.0, rate=48000)], axis=1)
    clip = decode_prompt(_flac(stereo, 48000), max_bytes=10_000_000)
    assert clip.sample_rate == 48000
    assert clip.duration_s == pytest.approx(4.0)


def _flac(audio: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, audio, rate, format="FLAC")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"junk" * 100, id="not-audio"),
        pytest.param(_wav(_tone(4.0), RATE)[:20] + bytes(4000), id="wav-broken-fmt-chunk"),
        pytest.param(_flac(_tone(4.0), RATE)[:200] + bytes(4000), id="flac-corrupt-frames"),
    ],
)
def test_undecodable_prompt_is_described_in_words(data: bytes) -> None:
    """Regression: the message carried libsndfile's "Error opening <_io.BytesIO object at 0x7f08...>"."""
    with pytest.raises(PromptAudioError) as info:
        decode_prompt(data, max_bytes=10_000_000, field="audio")
    message = str(info.value)
    assert message.startswith("audio could not be decoded as audio (format not recognised or file corrupt)")
    assert "0x" not in message
    assert "<" not in message
    assert "BytesIO" not in message
    assert (info.value.status, info.value.field) == (400, "audio")


def test_pitch_estimate() -> None:
    assert median_pitch_hz(_tone(freq=150.0), RATE) == pytest.approx(150.0, rel=0.03)
    assert median_pitch_hz(np.zeros(RATE, dtype=np.float32), RATE) is None
