"""A stream admitted like any request: it waits in the same queue for an engine slot, holds that slot while it
generates, and gives it back the moment it ends, fails, misses a deadline or loses its client.

The engine generator runs one step at a time on the admission's worker threads (a step may land on any of them; the
CosyVoice3 adapter keeps its per-request state across threads). Deadlines: the first audio must come within
`first_audio_s` of admission (queueing included), the whole stream within `total_s`. The handle enforces the second
while it waits for the engine; the response sending the stream enforces it while it waits for the client
(`deadline`, `expire()`: service/api/stream_response.py), so a client that stops reading cannot keep the slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field

from service.admission.errors import DeadlineExceededError
from service.engines.base import Audio, Engine, EngineOutOfMemoryError, SynthesisRequest

_DONE = object()


@dataclass
class StreamStats:
    started: int = 0
    finished: int = 0
    cancelled: int = 0
    failed: int = 0
    deadline_exceeded: int = 0
    segments: int = 0
    first_audio_s: list[float] = field(default_factory=list)


class StreamDeadlineError(DeadlineExceededError):
    """A stream took longer than its deadline (to its first audio, or in all)."""


def _outcome_of(exc: BaseException) -> str:
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    return "oom" if isinstance(exc, EngineOutOfMemoryError) else "failed"


class StreamHandle:
    """One admitted stream holding an engine slot; iterate it for audio segments, `aclose()` it when done."""

    def __init__(
        self,
        engine: Engine,
        request: SynthesisRequest,
        executor: Executor,
        *,
        admitted_at: float,
        first_audio_s: float,
        total_s: float,
        release: Callable[[str], None],
        stats: StreamStats,
        after: Callable[[], None] | None = None,
    ) -> None:
        self.request = request
        self._engine = engine
        self._executor = executor
        self._admitted_at = admitted_at
        self._first_audio_s = first_audio_s
        self._total_s = total_s
        self._release = release
        self._after = after
        self._stats = stats
        self._generator: Iterator[Audio] | None = None
        self._outcome = "cancelled"  # what aclose() reports unless the stream finished, failed or ran late
        self._first_seen = False
        self._closed = False
        self.samples = 0
        stats.started += 1

    async def _step(self, timeout: float) -> Audio | None:
        loop = asyncio.get_running_loop()
        if self._generator is None:
            self._generator = await loop.run_in_executor(
                self._executor, lambda: iter(self._engine.stream(self.request))
            )
        future = loop.run_in_executor(self._executor, next, self._generator, _DONE)
        try:
            segment = await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            # The step keeps the engine until it returns; aclose() waits for it before closing the generator.
            self._pending_step = future
            raise
        return None if segment is _DONE else segment  # type: ignore[return-value]

    async def first(self) -> Audio | None:
        """The first segment (None: the stream is empty), within the first-audio deadline counted from admission."""
        remaining = self._first_audio_s - (time.monotonic() - self._admitted_at)
        try:
            segment = await self._step(max(0.0, remaining))
        except TimeoutError:
            self._stats.deadline_exceeded += 1
            self._outcome = "deadline"
            await self.aclose()
            raise StreamDeadlineError(f"no audio within the {self._first_audio_s:g} s first-audio deadline") from None
        except BaseException as exc:
            self._stats.failed += 1
            self._outcome = _outcome_of(exc)
            await self.aclose()
            raise
        self._first_seen = True
        self._stats.first_audio_s.append(time.monotonic() - self._admitted_at)
        if segment is not None:
            self._count(segment)
        return segment

    @property
    def deadline(self) -> float:
        """When the whole stream must be over (time.monotonic()): `total_s` after admission."""
        return self._admitted_at + self._total_s

    def expire(self) -> StreamDeadlineError:
        """Record that the stream ran past its deadline outside the engine (its client stopped reading); the error to
        raise. Close the handle (or the iterator of `rest()`) afterwards: that gives the slot back."""
        self._stats.deadline_exceeded += 1
        self._outcome = "deadline"
        return StreamDeadlineError(f"stream ran past its {self._total_s:g} s deadline (its client stopped reading)")

    def _count(self, segment: Audio) -> None:
        self._stats.segments += 1
        self.samples += int(segment.size)

    async def rest(self) -> AsyncGenerator[Audio, None]:
        """The segments after the first; raises (and closes) on an engine error or past the whole-stream deadline."""
        try:
            while True:
                remaining = self.deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                segment = await self._step(remaining)
                if segment is None:
                    self._stats.finished += 1
                    self._outcome = "finished"
                    return
                self._count(segment)
                yield segment
        except TimeoutError:
            self._stats.deadline_exceeded += 1
            self._outcome = "deadline"
            raise StreamDeadlineError(f"stream ran past its {self._total_s:g} s deadline") from None
        except (asyncio.CancelledError, GeneratorExit):
            if self._outcome == "cancelled":  # not already counted by expire()
                self._stats.cancelled += 1
            raise
        except BaseException as exc:
            self._stats.failed += 1
            self._outcome = _outcome_of(exc)
            raise
        finally:
            await asyncio.shield(self.aclose())

    _pending_step: asyncio.Future[object] | None = None

    async def aclose(self) -> None:
        """Stop the engine generator on a worker thread (its cleanup runs where it ran) and give the slot back."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        try:
            if self._pending_step is not None:
                with contextlib.suppress(BaseException):
                    await self._pending_step  # a step that missed its deadline still holds the engine
            generator = self._generator
            close = getattr(generator, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await loop.run_in_executor(self._executor, close)
            with contextlib.suppress(Exception):
                await loop.run_in_executor(self._executor, self._engine.release)
            if self._after is not None and self._generator is not None:
                with contextlib.suppress(Exception):
                    await loop.run_in_executor(self._executor, self._after)  # memory hygiene, request count
        finally:
            self._release(self._outcome)
