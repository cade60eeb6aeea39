"""The engine's one thread: loading, streams and (through admission control) batches all run on it.

Engines are synchronous and (espeak, CosyVoice3) not re-entrant, so everything that touches the engine executes on
one dedicated worker thread: the event loop never blocks on an engine. A stream holds `lock` until it ends or the
client goes away (CosyVoice PR #1849: shared streaming state breaks under concurrency); the admission controller
takes the same lock around each batch and runs it on the same `executor`, so streams and batches never overlap.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

from service.engines.base import Audio, Engine, SynthesisRequest

_DONE = object()


@dataclass
class RunnerStats:
    streams: int = 0
    streams_cancelled: int = 0
    segments_streamed: int = 0


class SynthRunner:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.stats = RunnerStats()
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="engine")
        self.lock = asyncio.Lock()

    async def _call(self, fn: object, *args: object) -> object:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, fn, *args)  # type: ignore[arg-type]

    async def load(self) -> None:
        await self._call(self.engine.load)

    async def stream(self, request: SynthesisRequest) -> AsyncIterator[Audio]:
        """Segments as the engine finishes them; closing this iterator early stops generation."""
        async with self.lock:
            self.stats.streams += 1
            generator: Iterator[Audio] = self.engine.stream(request)
            finished = False
            try:
                while True:
                    segment = await self._call(next, generator, _DONE)
                    if segment is _DONE:
                        finished = True
                        return
                    self.stats.segments_streamed += 1
                    yield segment  # type: ignore[misc]
            finally:
                if not finished:
                    self.stats.streams_cancelled += 1
                # Closing runs the generator's cleanup on the engine thread, where it ran.
                close = getattr(generator, "close", None)
                if close is not None:
                    await asyncio.shield(self._call(close))
                await self._call(self.engine.release)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.engine.close()
