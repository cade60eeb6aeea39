"""The engine's worker threads: loading, and (through admission control) every batch and every stream step.

Engines are synchronous and run off the event loop. How many engine calls run at once is the admission
controller's slot count (`engine_workers`): 1 for engines with global state (espeak), up to `max_concurrency` for
engines that keep per-request state (CosyVoice3, see service/engines/cosyvoice3_scope.py). Streams and batches take
slots from the same pool, so they never exceed it together.
"""

from __future__ import annotations

import asyncio
import concurrent.futures

from service.engines.base import Engine


def engine_workers(engine: Engine, *, max_concurrency: int, max_batch: int) -> int:
    """Engine calls at once: batching engines spend `max_concurrency` max_batch at a time; others run up to
    `max_concurrency` requests at once, never more than the engine can (espeak: 1)."""
    caps = engine.capabilities
    if caps.batching and max_batch > 1:
        return max(1, max_concurrency // max_batch)
    return max(1, min(max_concurrency, caps.max_concurrency))


class SynthRunner:
    def __init__(self, engine: Engine, *, workers: int = 1) -> None:
        self.engine = engine
        self.workers = workers
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="engine")

    async def load(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.executor, self.engine.load)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.engine.close()
