"""Engine selection by settings (TTS_ENGINE); the one place that knows every engine's constructor."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.engines.base import Engine

if TYPE_CHECKING:
    from service.settings import Settings

ENGINE_NAMES = ("espeak", "cosyvoice3")
# Model names OpenAI clients send; they mean "the engine this service runs".
OPENAI_MODEL_ALIASES = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")


def build_engine(settings: Settings) -> Engine:
    """The configured engine, not yet loaded. Cheap checks (model dir exists) run here, so startup fails fast."""
    if settings.engine == "espeak":
        from service.engines.espeak import EspeakEngine

        return EspeakEngine()
    from service.engines.cosyvoice3 import CosyVoice3Engine

    assert settings.model_dir is not None  # Settings refuses cosyvoice3 without a model dir
    engine = CosyVoice3Engine(settings.model_dir, device=settings.resolved_device, fp16=settings.fp16)
    engine.check()
    return engine
