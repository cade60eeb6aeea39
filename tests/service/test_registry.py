"""Engine selection: the loadmodel engine only when allowed, and the test/drill fault injector around any engine."""

from __future__ import annotations

import importlib.util

import pytest

from service.engines.base import EngineOutOfMemoryError, SynthesisRequest
from service.engines.faults import FaultInjectingEngine
from service.engines.registry import EngineRefusedError, build_engine
from service.settings import Settings
from tests.service.fakes.batch_engine import BatchEngine

HAS_LOADMODEL = importlib.util.find_spec("service.engines.loadmodel") is not None


def test_loadmodel_is_refused_unless_allowed() -> None:
    # Settings refuse it first; the registry refuses it too, should unchecked settings ever reach it.
    unchecked = Settings.model_construct(**{**Settings().model_dump(), "engine": "loadmodel"})
    with pytest.raises(EngineRefusedError, match="TTS_ALLOW_LOADMODEL=true"):
        build_engine(unchecked)


@pytest.mark.skipif(not HAS_LOADMODEL, reason="service/engines/loadmodel.py is not in this checkout")
def test_loadmodel_is_built_from_settings_when_allowed() -> None:
    settings = Settings(engine="loadmodel", allow_loadmodel=True, loadmodel_preset="tiny", device="cpu")
    engine = build_engine(settings)
    assert engine.capabilities.name == "loadmodel"
    assert engine.capabilities.is_speech is False
    assert not engine.loaded  # built, not loaded: the weights come in the lifespan's background load


def test_fault_settings_wrap_the_engine_and_oom_every_nth_call() -> None:
    engine = build_engine(Settings(fault_oom_every=3, environment="test"))
    assert isinstance(engine, FaultInjectingEngine)
    assert engine.capabilities.name == "espeak"
    assert not isinstance(build_engine(Settings()), FaultInjectingEngine)

    inner = BatchEngine()
    faulty = FaultInjectingEngine(inner, oom_every=2)
    faulty.load()
    request = SynthesisRequest("hello")
    for _ in range(2):
        assert len(faulty.synthesize_batch([request])) == 1
        with pytest.raises(EngineOutOfMemoryError, match="TTS_FAULT_OOM_EVERY=2"):
            faulty.synthesize_batch([request])
    assert len(inner.batches) == 2  # an injected OOM never reaches the engine
    with pytest.raises(EngineOutOfMemoryError):
        list(FaultInjectingEngine(inner, oom_every=1).stream(request))
