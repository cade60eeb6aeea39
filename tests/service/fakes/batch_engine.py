"""A small engine implementing service/engines/base.py for admission, batching and memory tests.

It produces a real sine tone per request (length from the text), records every batch it was given, can block on a
gate so tests hold work "on the GPU", and has injectable faults: CUDA out-of-memory for batches above a size or for
the next N calls, and an EngineError for marked texts. Its fake GPU memory grows per request and `release()` frees
the cache part of it, like torch's caching allocator.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np

from service.engines.base import (
    Capabilities,
    Engine,
    EngineError,
    EngineNotReadyError,
    EngineOutOfMemoryError,
    MemoryReport,
    SynthesisRequest,
    SynthesisResult,
)

SAMPLE_RATE = 16000


def tone(text: str, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The audio the engine makes for `text`: 10 ms of 440 Hz per character."""
    n = max(1, len(text)) * sample_rate // 100
    t = np.arange(n, dtype=np.float32) / sample_rate
    return (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)


class BatchEngine(Engine):
    # The service lets an engine declare built-in voices (service.lifecycle.builtin_voice_names); OpenAI-style
    # requests name voice "default" unless told otherwise.
    builtin_voices: tuple[str, ...] = ("default",)

    def __init__(
        self,
        *,
        batching: bool = True,
        delay_s: float = 0.0,
        oom_above_batch: int | None = None,
        bytes_per_request: int = 0,
    ) -> None:
        self.capabilities = Capabilities(
            name="batchfake", languages=("en",), sample_rate=SAMPLE_RATE, batching=batching
        )
        self.delay_s = delay_s
        self.oom_above_batch = oom_above_batch
        self.oom_next_calls = 0
        self.bytes_per_request = bytes_per_request
        self.gate = threading.Event()
        self.gate.set()
        self.batches: list[list[str]] = []
        self.active = 0
        self.max_active = 0
        self.releases = 0
        self.cached_bytes = 0
        self.leaked_bytes = 0
        self._lock = threading.Lock()
        self._loaded = False

    def load(self) -> None:
        self._loaded = True

    @property
    def loaded(self) -> bool:
        return self._loaded

    def synthesize_batch(self, requests: Sequence[SynthesisRequest]) -> list[SynthesisResult]:
        if not self._loaded:
            raise EngineNotReadyError("not loaded")
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.batches.append([r.text for r in requests])
        try:
            self.gate.wait(timeout=30)
            if self.delay_s:
                time.sleep(self.delay_s)
            with self._lock:
                if self.oom_next_calls > 0:
                    self.oom_next_calls -= 1
                    raise EngineOutOfMemoryError("CUDA out of memory (injected)")
            if self.oom_above_batch is not None and len(requests) > self.oom_above_batch:
                raise EngineOutOfMemoryError(f"CUDA out of memory (injected, batch {len(requests)})")
            for r in requests:
                if r.text.startswith("BAD"):
                    raise EngineError(f"cannot say {r.text!r}")
            with self._lock:
                self.cached_bytes += self.bytes_per_request * len(requests)
                self.leaked_bytes += self.bytes_per_request // 10 * len(requests)
            return [SynthesisResult(tone(r.text), SAMPLE_RATE) for r in requests]
        finally:
            with self._lock:
                self.active -= 1

    def release(self) -> None:
        with self._lock:
            self.releases += 1
            self.cached_bytes = 0

    def memory_report(self) -> MemoryReport:
        allocated, reserved = self.leaked_bytes, self.leaked_bytes + self.cached_bytes
        return MemoryReport(rss_bytes=0, gpu_allocated_bytes=allocated, gpu_reserved_bytes=reserved)
