"""The embedded espeak-ng engine: multilingual, instant on a CPU, honest about what it is.

No neural cloning: a reference clip steers pitch and rate only (measured from the clip against espeak's own
output, so no constants are guessed), instructions map to dialect voices and prosody (espeak_style), pronunciation
tags become espeak phoneme input, and everything it cannot honor comes back in the result's notes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import cache

import numpy as np

from service.audio.analysis import median_pitch_hz, voiced_seconds
from service.engines.base import (
    Audio,
    Capabilities,
    Engine,
    EngineError,
    EngineNotReadyError,
    MemoryReport,
    SynthesisRequest,
    SynthesisResult,
    VoicePrompt,
)
from service.engines.espeak_lib import RATE_MAX, RATE_MIN, RATE_NORMAL, EspeakLibrary, Prosody
from service.engines.espeak_style import parse_instruction
from service.engines.process import rss_bytes
from service.text.prepare import detect_language
from service.text.tags import arpabet_to_espeak, parse_tags, pinyin_to_espeak

# API language code -> espeak-ng voice (espeak-ng-data/lang: cmn, yue, en-us, ja, hak).
LANGUAGE_VOICES = {"zh": "cmn", "yue": "yue", "en": "en-us", "ja": "ja", "hak": "hak"}
# Built-in voice names (OpenAI's names, for drop-in clients) -> espeak variants (espeak-ng-data/voices/!v).
BUILTIN_VARIANTS = {
    "default": "",
    "alloy": "f1",
    "ash": "m3",
    "ballad": "m2",
    "coral": "f3",
    "echo": "m1",
    "fable": "m4",
    "nova": "f2",
    "onyx": "m7",
    "sage": "f4",
    "shimmer": "f5",
    "verse": "m5",
    "marin": "linda",  # marin and cedar: in the openai SDK's voice list since 2025 (speech_create_params.Voice)
    "cedar": "m6",
}
# Segment at sentence ends so streaming yields audio as each sentence finishes.
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])|(?<=[.])\s+")


class EspeakEngine(Engine):
    capabilities = Capabilities(
        name="espeak",
        languages=tuple(LANGUAGE_VOICES),
        sample_rate=22050,  # espeak_Initialize returns 22050 Hz for the bundled voices
        clone=False,
        instruct=True,
        phoneme_tags=True,
        streaming=True,
        notes=(
            "no neural voice cloning: a reference clip steers pitch and rate only",
            "instructions: Cantonese/Hakka/Mandarin voices and fast/slow/loud/soft/gentle/high/low; others reported",
        ),
    )

    def __init__(self) -> None:
        self._lib: EspeakLibrary | None = None

    def load(self) -> None:
        self._lib = EspeakLibrary.get()

    @property
    def loaded(self) -> bool:
        return self._lib is not None

    def synthesize_batch(self, requests: Sequence[SynthesisRequest]) -> list[SynthesisResult]:
        results = []
        for request in requests:
            notes: list[str] = []
            segments = list(self._segments(request, notes))
            audio = np.concatenate(segments) if segments else np.zeros(0, dtype=np.float32)
            results.append(SynthesisResult(audio=audio, sample_rate=self.sample_rate, notes=tuple(notes)))
        return results

    def stream(self, request: SynthesisRequest) -> Iterator[Audio]:
        yield from self._segments(request, [])

    def memory_report(self) -> MemoryReport:
        return MemoryReport(rss_bytes=rss_bytes())

    @property
    def sample_rate(self) -> int:
        return self._require().sample_rate

    def _require(self) -> EspeakLibrary:
        if self._lib is None:
            raise EngineNotReadyError("espeak engine is not loaded")
        return self._lib

    def _segments(self, request: SynthesisRequest, notes: list[str]) -> Iterator[Audio]:
        """Audio per sentence; notes collects what could not be honored (filled before the first segment)."""
        lib = self._require()
        language = request.language or detect_language(request.text)
        if language not in LANGUAGE_VOICES:
            raise EngineError(f"espeak does not speak language '{language}' (use {', '.join(LANGUAGE_VOICES)})")
        base_voice = LANGUAGE_VOICES[language]
        style = parse_instruction(request.instruct)
        if style.voice:
            base_voice = style.voice
        if style.unhonored:
            notes.append(f"espeak cannot honor this part of the instruction: '{style.unhonored}'")
        variant = BUILTIN_VARIANTS.get(request.voice or "default", "")
        prosody = self._prosody(request.speed, style.factors, notes)
        if request.prompt is not None:
            prosody = self._steer(lib, base_voice, prosody, request.prompt, notes)
        for sentence in _SENTENCE_END.split(request.text):
            if not sentence.strip():
                continue
            pieces = [
                self._synth_tagged(lib, base_voice, variant, prosody, sentence, notes),
            ]
            audio = np.concatenate(pieces).astype(np.float32) / 32768.0
            if audio.size:
                yield audio

    def _synth_tagged(
        self, lib: EspeakLibrary, voice: str, variant: str, prosody: Prosody, text: str, notes: list[str]
    ) -> np.ndarray:
        chunks = []
        spec = f"{voice}+{variant}" if variant else voice
        for segment in parse_tags(text):
            if segment.kind == "plain":
                if segment.text.strip():
                    chunks.append(lib.synth(spec, segment.text, prosody))
            elif segment.kind == "arpabet":
                english = f"en-us+{variant}" if variant else "en-us"
                chunks.append(lib.synth(english, arpabet_to_espeak(segment.symbols), prosody, phonemes=True))
            elif segment.kind == "pinyin":
                chunks.append(
                    lib.synth(f"cmn+{variant}" if variant else "cmn", pinyin_to_espeak(segment.symbols), prosody)
                )
            elif f"espeak skips the non-verbal tag {segment.text}" not in notes:
                notes.append(f"espeak skips the non-verbal tag {segment.text}")
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)

    @staticmethod
    def _prosody(speed: float, factors: dict[str, float], notes: list[str]) -> Prosody:
        wanted = RATE_NORMAL * speed * factors.get("rate", 1.0)
        rate = int(min(max(wanted, RATE_MIN), RATE_MAX))
        if rate != int(wanted):
            notes.append(f"espeak speaks {RATE_MIN}-{RATE_MAX} words/min; speed clamped to {rate / RATE_NORMAL:.2f}")
        return Prosody(
            rate=rate,
            volume=int(min(200, 100 * factors.get("volume", 1.0))),
            pitch=int(min(100, 50 * factors.get("pitch", 1.0))),
            range=int(min(100, 50 * factors.get("range", 1.0))),
        )

    def _steer(
        self, lib: EspeakLibrary, voice: str, prosody: Prosody, prompt: VoicePrompt, notes: list[str]
    ) -> Prosody:
        """Match the clip's median pitch and (with its transcript) its speaking rate; clone nothing else."""
        notes.append("espeak cannot clone voices: the reference clip steered pitch and rate only")
        target_f0 = median_pitch_hz(prompt.audio, prompt.sample_rate)
        low_f0, high_f0 = _pitch_calibration(voice)
        pitch = prosody.pitch
        if target_f0 and low_f0 and high_f0 and high_f0 > low_f0:
            # espeak's pitch knob moves F0 roughly linearly in log-frequency between the two measured settings.
            position = (math.log(target_f0) - math.log(low_f0)) / (math.log(high_f0) - math.log(low_f0))
            pitch = int(min(max(20 + 60 * position, 0), 100))
        rate = prosody.rate
        if prompt.text:
            clip_speech = voiced_seconds(prompt.audio, prompt.sample_rate)
            ours = lib.synth(voice, prompt.text, replace(prosody, rate=RATE_NORMAL)).astype(np.float32) / 32768.0
            our_speech = voiced_seconds(ours, lib.sample_rate)
            if clip_speech > 0 and our_speech > 0:
                rate = int(min(max(prosody.rate * our_speech / clip_speech, RATE_MIN), RATE_MAX))
        return replace(prosody, pitch=pitch, rate=rate)


@cache
def _pitch_calibration(voice: str) -> tuple[float | None, float | None]:
    """Median F0 espeak produces for `voice` at pitch settings 20 and 80 (measured once per voice)."""
    lib = EspeakLibrary.get()
    sample = {"cmn": "今天天气很好，我们去公园散步。", "yue": "今日天气好好。"}.get(voice, "The weather is fine today.")
    measured = []
    for setting in (20, 80):
        audio = lib.synth(voice, sample, Prosody(pitch=setting)).astype(np.float32) / 32768.0
        measured.append(median_pitch_hz(audio, lib.sample_rate))
    return measured[0], measured[1]
