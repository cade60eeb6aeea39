"""Engine selection by settings (TTS_ENGINE); the one place that knows every engine's constructor."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.engines.base import Engine, EngineError

if TYPE_CHECKING:
    from service.settings import Settings

ENGINE_NAMES = ("espeak", "cosyvoice3", "loadmodel")
# Model names OpenAI clients send; they mean "the engine this service runs".
OPENAI_MODEL_ALIASES = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
# Voice names OpenAI clients send: the `Voice` literal of the openai SDK (3.57, speech_create_params.py; a test reads
# it from the installed package). espeak maps each to a variant; cosyvoice3 finds them in the seeded voice library.
OPENAI_VOICE_NAMES = (
    "alloy", "ash", "ballad", "cedar", "coral", "echo", "fable", "marin", "nova", "onyx", "sage", "shimmer", "verse",
)  # fmt: skip


class EngineRefusedError(EngineError):
    """The settings ask for an engine this service may not run (loadmodel without TTS_ALLOW_LOADMODEL)."""


def _build(settings: Settings) -> Engine:
    if settings.engine == "espeak":
        from service.engines.espeak import EspeakEngine

        return EspeakEngine()
    if settings.engine == "loadmodel":
        if not settings.allow_loadmodel:
            raise EngineRefusedError("engine 'loadmodel' makes noise, not speech; it needs TTS_ALLOW_LOADMODEL=true")
        try:
            from service.engines.loadmodel import LoadModelEngine
        except ImportError as exc:  # the load model ships with the benchmarks work; absent in a trimmed install
            raise EngineRefusedError(f"engine 'loadmodel' is not installed here: {exc}") from exc
        return LoadModelEngine(preset=settings.loadmodel_preset, device=settings.resolved_device, fp16=settings.fp16)
    from service.engines.cosyvoice3 import CosyVoice3Engine

    assert settings.model_dir is not None  # Settings refuses cosyvoice3 without a model dir
    engine = CosyVoice3Engine(settings.model_dir, device=settings.resolved_device, fp16=settings.fp16)
    engine.check()
    return engine


def build_engine(settings: Settings) -> Engine:
    """The configured engine, not yet loaded. Cheap checks (model dir exists) run here, so startup fails fast.

    With TTS_FAULT_OOM_EVERY / TTS_FAULT_DELAY_MS (tests and drills only) it comes wrapped in the fault injector."""
    engine = _build(settings)
    if settings.fault_oom_every or settings.fault_delay_ms:
        from service.engines.faults import FaultInjectingEngine

        delay_s = settings.fault_delay_ms / 1000
        engine = FaultInjectingEngine(engine, oom_every=settings.fault_oom_every, delay_s=delay_s)
    return engine
