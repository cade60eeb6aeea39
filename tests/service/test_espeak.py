"""The espeak engine directly: languages, tags, instructions, prompt steering, thread safety."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from service.audio.analysis import median_pitch_hz
from service.engines.base import EngineError, SynthesisRequest, VoicePrompt
from service.engines.espeak import EspeakEngine


@pytest.fixture(scope="module")
def engine() -> EspeakEngine:
    loaded = EspeakEngine()
    loaded.load()
    return loaded


def _say(engine: EspeakEngine, **kwargs: object) -> np.ndarray:
    return engine.synthesize_batch([SynthesisRequest(**kwargs)])[0].audio  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("language", "text"), [("zh", "你好"), ("yue", "你好"), ("en", "hello"), ("ja", "こんにちは"), ("hak", "你好")]
)
def test_languages(engine: EspeakEngine, language: str, text: str) -> None:
    audio = _say(engine, text=text, language=language)
    assert audio.dtype == np.float32
    assert audio.size > 0.2 * engine.sample_rate
    assert np.max(np.abs(audio)) > 0.05


def test_cantonese_differs_from_mandarin(engine: EspeakEngine) -> None:
    assert not np.array_equal(_say(engine, text="你好", language="zh"), _say(engine, text="你好", language="yue"))


def _close(a: np.ndarray, b: np.ndarray, tolerance: float = 0.03) -> bool:
    """Same length within `tolerance`: espeak adds a little random variation, so outputs are never bit-identical."""
    return abs(a.size - b.size) <= tolerance * max(a.size, b.size)


def test_pinyin_tag_reads_like_the_character(engine: EspeakEngine) -> None:
    # 几 is ji3: the tag reads like the character, and unlike another syllable (家, jia1).
    tagged = _say(engine, text="[j][ǐ]", language="zh")
    assert _close(tagged, _say(engine, text="几", language="zh"))
    assert not _close(tagged, _say(engine, text="家", language="zh"))


def test_arpabet_tag_differs_from_spelling(engine: EspeakEngine) -> None:
    tagged = _say(engine, text="[M][IH1][N][AH0][T]", language="en")
    assert tagged.size > 0.2 * engine.sample_rate
    assert not np.array_equal(tagged, _say(engine, text="M IH1 N AH0 T", language="en"))


def test_instruction_dialect_and_style(engine: EspeakEngine) -> None:
    cantonese = _say(engine, text="你好", language="zh", instruct="请用广东话表达。")
    assert _close(cantonese, _say(engine, text="你好", language="yue"))
    assert not _close(cantonese, _say(engine, text="你好", language="zh"), tolerance=0.05)
    slow = _say(engine, text="hello there my friend", language="en", instruct="read it slowly")
    normal = _say(engine, text="hello there my friend", language="en")
    assert slow.size > normal.size * 1.15


def test_unhonored_instruction_is_reported(engine: EspeakEngine) -> None:
    [result] = engine.synthesize_batch([SynthesisRequest(text="你好", instruct="用四川话说")])
    assert any("四川" in note for note in result.notes)


def test_control_tags_reported(engine: EspeakEngine) -> None:
    [result] = engine.synthesize_batch([SynthesisRequest(text="好[laughter]啊", language="zh")])
    assert any("[laughter]" in note for note in result.notes)


def test_prompt_steers_pitch(engine: EspeakEngine) -> None:
    def clip(freq: float) -> VoicePrompt:
        t = np.arange(22050 * 4) / 22050
        envelope = np.abs(np.sin(2 * np.pi * 2 * t))  # syllable-like bursts
        return VoicePrompt(audio=(0.5 * envelope * np.sin(2 * np.pi * freq * t)).astype(np.float32), sample_rate=22050)

    low = _say(engine, text="今天天气很好。", language="zh", prompt=clip(90.0))
    high = _say(engine, text="今天天气很好。", language="zh", prompt=clip(220.0))
    low_f0, high_f0 = median_pitch_hz(low, 22050), median_pitch_hz(high, 22050)
    assert low_f0 is not None
    assert high_f0 is not None
    assert high_f0 > low_f0 * 1.3


def test_prompt_with_transcript_steers_rate(engine: EspeakEngine) -> None:
    reference = _say(engine, text="今天天气很好，我们去公园散步。", language="zh")
    fast_clip = VoicePrompt(audio=reference[::2].copy(), sample_rate=22050, text="今天天气很好，我们去公园散步。")
    steered = _say(engine, text="今天天气很好。", language="zh", prompt=fast_clip)
    plain = _say(engine, text="今天天气很好。", language="zh")
    assert steered.size < plain.size * 0.8


def test_unknown_language(engine: EspeakEngine) -> None:
    with pytest.raises(EngineError, match="language 'xx'"):
        _say(engine, text="hi", language="xx")


def test_stream_segments_by_sentence(engine: EspeakEngine) -> None:
    segments = list(engine.stream(SynthesisRequest(text="一。二。三。", language="zh")))
    assert len(segments) == 3


def test_concurrent_use_is_serialized(engine: EspeakEngine) -> None:
    expected = _say(engine, text="The same sentence every time.", language="en")
    outputs: list[np.ndarray] = []

    def work() -> None:
        for _ in range(5):
            outputs.append(_say(engine, text="The same sentence every time.", language="en"))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Interleaved calls into the non-reentrant library would mix or lose audio; serialized ones all match.
    assert len(outputs) == 20
    assert all(_close(out, expected, 0.01) for out in outputs)
