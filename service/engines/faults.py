"""Fault injection for tests and drills: an engine wrapper that runs out of GPU memory on purpose, or runs slowly.

Selected by settings (TTS_FAULT_OOM_EVERY, TTS_FAULT_DELAY_MS), which the service refuses outside the
local/dev/test/ci environments, so a production instance can never run it. It lets the OOM path (503 with
Retry-After, then recovery) and queue back-pressure be shown on the real app with any engine, without a GPU.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

from service.engines.base import Audio, Engine, EngineOutOfMemoryError, MemoryReport, SynthesisRequest, SynthesisResult


class FaultInjectingEngine(Engine):
    """Wraps an engine: every `oom_every`-th call (batch or stream) raises EngineOutOfMemoryError before the engine
    runs, as torch's "CUDA out of memory" would; every call first sleeps `delay_s`."""

    def __init__(self, inner: Engine, *, oom_every: int = 0, delay_s: float = 0.0) -> None:
        if oom_every < 0 or delay_s < 0:
            raise ValueError("oom_every and delay_s must be >= 0")
        self.inner = inner
        self.capabilities = inner.capabilities
        self.oom_every = oom_every
        self.delay_s = delay_s
        self.calls = 0
        self.injected_ooms = 0
        self._lock = threading.Lock()

    def _before_call(self) -> None:
        with self._lock:
            self.calls += 1
            fail = bool(self.oom_every) and self.calls % self.oom_every == 0
            if fail:
                self.injected_ooms += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        if fail:
            raise EngineOutOfMemoryError(
                f"CUDA out of memory (injected by TTS_FAULT_OOM_EVERY={self.oom_every}, call {self.calls})"
            )

    def load(self) -> None:
        self.inner.load()

    @property
    def loaded(self) -> bool:
        return self.inner.loaded

    def synthesize_batch(self, requests: Sequence[SynthesisRequest]) -> list[SynthesisResult]:
        self._before_call()
        return self.inner.synthesize_batch(requests)

    def stream(self, request: SynthesisRequest) -> Iterator[Audio]:
        self._before_call()
        yield from self.inner.stream(request)

    def release(self) -> None:
        self.inner.release()

    @property
    def healthy(self) -> bool:
        return self.inner.healthy

    def tag_vocabulary(self) -> frozenset[str] | None:
        return self.inner.tag_vocabulary()

    def instruction(self, text: str, *, field: str = "instruct") -> str:
        return self.inner.instruction(text, field=field)

    def forget_voice(self, name: str) -> None:
        self.inner.forget_voice(name)

    def memory_report(self) -> MemoryReport:
        return self.inner.memory_report()

    def close(self) -> None:
        self.inner.close()
