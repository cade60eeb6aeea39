"""Build an engine in-process for `overhead` and `calibrate`, by the same names the service uses."""

from __future__ import annotations

from pathlib import Path

from benchmarks.common import BenchError
from service.engines.base import Engine, EngineError

ENGINES = ("loadmodel", "espeak", "cosyvoice3")


def build_engine(name: str, *, preset: str, device: str, fp16: bool, model_dir: Path | None) -> Engine:
    """The named engine, loaded; bad choices raise BenchError naming the option."""
    engine: Engine
    if name == "loadmodel":
        from service.engines.loadmodel import LoadModelEngine

        try:
            engine = LoadModelEngine(preset=preset, device=device, fp16=fp16)
        except ValueError as exc:
            raise BenchError(f"--preset/--device: {exc}") from exc
    elif name == "espeak":
        from service.engines.espeak import EspeakEngine

        engine = EspeakEngine()
    elif name == "cosyvoice3":
        if model_dir is None:
            raise BenchError("--model-dir is required for --engine cosyvoice3 (weights are never downloaded)")
        from service.engines.cosyvoice3 import CosyVoice3Engine

        engine = CosyVoice3Engine(model_dir, device=device, fp16=fp16)
    else:
        raise BenchError(f"--engine: unknown engine '{name}' (use one of: {', '.join(ENGINES)})")
    try:
        engine.load()
    except EngineError as exc:
        raise BenchError(f"--engine {name}: {exc}") from exc
    return engine


def precision_of(name: str, fp16: bool) -> str:
    return "fp16" if fp16 and name != "espeak" else "fp32"
