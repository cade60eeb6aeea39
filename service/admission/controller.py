"""The bounded queue and dynamic batcher between the HTTP routes and the engine.

Routes `await controller.submit(request)`; a dispatcher task groups compatible waiting requests into batches of up
to `max_batch` (waiting at most `max_wait_ms` for companions) and runs `engine.synthesize_batch` in worker threads,
so the event loop keeps answering /healthz and /metrics while the GPU is busy. Engines without batching get batches
of one and up to `max_concurrency` parallel calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from service.admission.errors import (
    AdmissionError,
    ClientGoneError,
    DeadlineExceededError,
    DrainingError,
    NotReadyError,
    QueueFullError,
)
from service.admission.execution import BatchOutcome, Finish, run_engine_batch
from service.admission.model import AdmissionObserver, AdmissionSettings, AdmissionStats, NullObserver
from service.admission.streams import StreamDeadlineError, StreamHandle, StreamStats
from service.engines.base import Engine, SynthesisRequest, SynthesisResult

log = logging.getLogger(__name__)

BatchKey = Callable[[SynthesisRequest], Hashable]
AfterBatch = Callable[[int], str | None]
"""Called in the worker thread after every batch with its size; returns a recycle reason or None."""
Disconnected = Callable[[], Awaitable[bool]]
T = TypeVar("T")


def default_batch_key(request: SynthesisRequest) -> Hashable:
    """Requests batch together when the engine would run them the same way (mode, language, speed)."""
    mode = "instruct" if request.instruct else ("clone" if request.prompt is not None else "voice")
    return (mode, request.language, request.speed)


@dataclass(eq=False)
class _Item:
    request: SynthesisRequest
    key: Hashable
    future: asyncio.Future[Any]
    enqueued_at: float = field(default_factory=time.monotonic)
    stream: bool = False  # a stream waits in the same queue; when dispatched it is granted a slot, not run
    finish: Finish | None = None  # post-processing run on the audio in the worker thread


class AdmissionController:
    """Bounded queue + batcher + drain for one engine."""

    def __init__(
        self,
        engine: Engine,
        settings: AdmissionSettings,
        *,
        observer: AdmissionObserver | None = None,
        batch_key: BatchKey = default_batch_key,
        after_batch: AfterBatch | None = None,
        on_recycle: Callable[[str], None] | None = None,
        engine_workers: int | None = None,
        executor: Executor | None = None,
        engine_lock: asyncio.Lock | None = None,
    ) -> None:
        """`engine_workers`: engine calls at once, batches and streams alike (default max_concurrency // max_batch).
        `executor`: share the worker threads of another runner instead of owning threads (it needs as many).
        `engine_lock`: held around each batch (tests use it to hold the engine)."""
        self.engine = engine
        self.settings = settings
        self.stats = AdmissionStats()
        self._observer: AdmissionObserver = observer or NullObserver()
        self._batch_key = batch_key
        self._after_batch = after_batch
        self._on_recycle = on_recycle
        self._batching = engine.capabilities.batching and settings.max_batch > 1
        self._max_batch = settings.max_batch if self._batching else 1
        # max_concurrency bounds requests inside the engine; batching engines spend it max_batch at a time.
        self._workers = engine_workers or max(1, settings.max_concurrency // self._max_batch)
        self._shared_executor = executor
        self._engine_lock = engine_lock
        self._running_streams = 0
        self._stream_ids = itertools.count()
        self.stream_stats = StreamStats()
        self._pending: deque[_Item] = deque()
        self._in_flight = 0
        self._ready = False
        self._draining = False
        self._drain_reason = ""
        self._batch_seconds = 0.0  # moving average, for Retry-After
        self._arrival: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._slots: asyncio.Semaphore | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._executor: Executor | None = executor
        self._batch_tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle -------------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the dispatcher (call from the app's lifespan, inside the running loop)."""
        self._arrival = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._slots = asyncio.Semaphore(self._workers)
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="engine")
        self._loop = asyncio.get_running_loop()
        self._dispatcher = asyncio.create_task(self._dispatch_loop(), name="admission-dispatcher")

    def set_ready(self, ready: bool = True) -> None:
        """Mark the engine loaded (readiness) or not."""
        self._ready = ready

    @property
    def accepting(self) -> bool:
        """What /readyz reports: loaded and not draining."""
        return self._ready and not self._draining

    @property
    def draining(self) -> bool:
        return self._draining

    @property
    def drain_reason(self) -> str:
        return self._drain_reason

    @property
    def queue_depth(self) -> int:
        return len(self._pending)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def streams(self) -> int:
        """Streams holding an engine slot now."""
        return self._running_streams

    def begin_drain(self, reason: str) -> None:
        """Stop admitting at once (readiness turns 503); admitted requests still finish."""
        if not self._draining:
            log.warning("draining: %s", reason, extra={"event": "drain", "reason": reason})
            self._draining = True
            self._drain_reason = reason

    async def drain(self, reason: str, timeout_s: float | None = None) -> int:
        """Stop admitting and wait until queued and in-flight requests are done; returns how many were left.

        Requests still queued after the timeout are answered 503 (never silently dropped)."""
        self.begin_drain(reason)
        assert self._idle is not None, "start() first"
        timeout = self.settings.request_timeout_s if timeout_s is None else timeout_s
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        left = len(self._pending) + self._in_flight
        while self._pending:
            item = self._pending.popleft()
            self._fail(item, DrainingError("instance shut down before this request ran; retry", retry_after_s=1))
        return left

    async def close(self) -> None:
        """Stop the dispatcher and the worker threads (after drain)."""
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher
        for task in list(self._batch_tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._executor is not None and self._executor is not self._shared_executor:
            self._executor.shutdown(wait=True)

    # -- admission -------------------------------------------------------------------------------------------------
    @overload
    async def submit(
        self,
        request: SynthesisRequest,
        *,
        timeout_s: float | None = None,
        is_disconnected: Disconnected | None = None,
        finish: None = None,
    ) -> SynthesisResult: ...

    @overload
    async def submit(
        self,
        request: SynthesisRequest,
        *,
        timeout_s: float | None = None,
        is_disconnected: Disconnected | None = None,
        finish: Callable[[SynthesisResult], T],
    ) -> T: ...

    async def submit(
        self,
        request: SynthesisRequest,
        *,
        timeout_s: float | None = None,
        is_disconnected: Disconnected | None = None,
        finish: Callable[[SynthesisResult], Any] | None = None,
    ) -> Any:
        """Queue one request and wait for its audio, or with `finish` for what `finish` makes of it: it runs in the
        engine's worker thread right after the engine call (the request's slot held meanwhile; the engine time
        recorded for metrics excludes it), sparing the caller a second thread hand-off for its post-processing.

        Raises QueueFullError (429), NotReadyError / DrainingError / EngineOverloadedError (503),
        DeadlineExceededError (504), ClientGoneError, the engine's EngineError for bad input, or what `finish`
        raised."""
        self.stats.offered += 1
        error = self._refusal()
        if error is not None:
            self.stats.rejected[error.code] += 1
            self._observer.rejected(error.code)
            raise error
        assert self._arrival is not None, "start() first"
        loop = asyncio.get_running_loop()
        item = _Item(request, self._batch_key(request), loop.create_future(), finish=finish)
        self._pending.append(item)
        self.stats.admitted += 1
        self._idle_changed()
        self._observer.queue_depth(len(self._pending))
        self._arrival.set()
        watcher = asyncio.create_task(self._watch_client(item, is_disconnected)) if is_disconnected else None
        timeout = self.settings.request_timeout_s if timeout_s is None else timeout_s
        try:
            return await asyncio.wait_for(asyncio.shield(item.future), timeout)
        except TimeoutError:
            self.stats.deadline_exceeded += 1
            err = DeadlineExceededError(f"no result within the {timeout:g} s deadline")
            self._fail(item, err)
            raise err from None
        except asyncio.CancelledError:
            self._fail(item, ClientGoneError("request cancelled"))
            raise
        finally:
            if watcher is not None:
                watcher.cancel()

    async def open_stream(
        self,
        request: SynthesisRequest,
        *,
        first_audio_s: float | None = None,
        total_s: float | None = None,
        is_disconnected: Disconnected | None = None,
    ) -> StreamHandle:
        """Admit a stream like any request (503 loading/draining, 429 queue full) and wait in the same queue for an
        engine slot. Returns the handle holding the slot; raises StreamDeadlineError (504) when no slot came within
        the first-audio deadline, ClientGoneError when the client left while it waited."""
        self.stats.offered += 1
        error = self._refusal()
        if error is not None:
            self.stats.rejected[error.code] += 1
            self._observer.rejected(error.code)
            raise error
        assert self._arrival is not None, "start() first"
        loop = asyncio.get_running_loop()
        item = _Item(request, ("stream", next(self._stream_ids)), loop.create_future(), stream=True)
        self._pending.append(item)
        self.stats.admitted += 1
        self.stats.streams += 1
        self._idle_changed()
        self._observer.queue_depth(len(self._pending))
        self._arrival.set()
        first_audio = self.settings.request_timeout_s if first_audio_s is None else first_audio_s
        total = self.settings.stream_timeout_s if total_s is None else total_s
        watcher = asyncio.create_task(self._watch_client(item, is_disconnected)) if is_disconnected else None
        try:
            await asyncio.wait_for(asyncio.shield(item.future), first_audio)
        except TimeoutError:
            self.stats.deadline_exceeded += 1
            err = StreamDeadlineError(f"no audio within the {first_audio:g} s first-audio deadline (still queued)")
            self._abandon(item, err)
            raise err from None
        except asyncio.CancelledError:
            self._abandon(item, ClientGoneError("stream cancelled before it started"))
            raise
        finally:
            if watcher is not None:
                watcher.cancel()
        assert self._executor is not None
        return StreamHandle(
            self.engine, request, self._executor, admitted_at=item.enqueued_at, first_audio_s=first_audio,
            total_s=total, release=self._stream_done, stats=self.stream_stats, after=self._after_stream,
        )  # fmt: skip

    def _abandon(self, item: _Item, error: BaseException) -> None:
        """A stream that gives up waiting: out of the queue, or (granted just now) its slot given back."""
        granted = item.future.done() and not item.future.cancelled() and item.future.exception() is None
        self._fail(item, error)
        if granted:
            self._stream_done("cancelled")

    def _grant(self, item: _Item) -> None:
        """The dispatcher took a stream from the queue: it holds the slot until its handle closes."""
        self._observer.queue_wait(time.monotonic() - item.enqueued_at)
        self._in_flight += 1
        self._running_streams += 1
        self._observer.in_flight(self._in_flight)
        item.future.set_result(None)

    def _after_stream(self) -> None:
        """In a worker thread after a stream: the same hygiene and recycle count as after a batch of one."""
        if self._after_batch is None:
            return
        reason = self._after_batch(1)
        if reason:
            asyncio.run_coroutine_threadsafe(self._recycle(reason), self._loop)

    async def _recycle(self, reason: str) -> None:
        self.begin_drain(f"recycle: {reason}")
        if self._on_recycle is not None:
            self._on_recycle(reason)

    def _stream_done(self, outcome: str) -> None:
        """A stream gave its slot back: `outcome` is finished, failed, oom, deadline or cancelled (client gone)."""
        assert self._slots is not None
        if outcome == "finished":
            self.stats.completed += 1
        elif outcome in ("failed", "oom"):
            self.stats.failed += 1
            if outcome == "oom":
                self.stats.oom_batches += 1
                self._observer.oom()
        elif outcome == "deadline":
            self.stats.deadline_exceeded += 1
        else:
            self.stats.client_gone += 1
        self._in_flight -= 1
        self._running_streams -= 1
        self._observer.in_flight(self._in_flight)
        self._slots.release()
        self._idle_changed()

    def _refusal(self) -> AdmissionError | None:
        retry = self.settings.unavailable_retry_after_s
        if self._draining:
            return DrainingError(f"instance is draining ({self._drain_reason}); retry", retry_after_s=retry)
        if not self._ready:
            return NotReadyError("engine is still loading; retry shortly", retry_after_s=retry)
        if len(self._pending) >= self.settings.max_queue:
            return QueueFullError(
                f"queue is full ({self.settings.max_queue} waiting); retry later", retry_after_s=self._retry_after()
            )
        return None

    def _retry_after(self) -> float:
        """About how long the backlog takes to clear, from the recent batch time."""
        batches_ahead = len(self._pending) / (self._workers * self._max_batch)
        return min(30.0, max(self.settings.retry_after_s, batches_ahead * self._batch_seconds))

    async def _watch_client(self, item: _Item, is_disconnected: Disconnected) -> None:
        """Every disconnect_poll_s while the request waits or runs, starting one interval in: a request answered
        sooner (most are) never costs a poll."""
        while True:
            await asyncio.sleep(self.settings.disconnect_poll_s)
            if item.future.done():
                return
            if await is_disconnected():
                self.stats.client_gone += 1
                self._fail(item, ClientGoneError("client disconnected; request dropped"))
                return

    def _fail(self, item: _Item, error: BaseException) -> None:
        """Settle an item with an error and take it out of the queue if it is still there."""
        if not item.future.done():
            item.future.set_exception(error)
            item.future.exception()  # mark retrieved: the submitter may already be gone
        with contextlib.suppress(ValueError):
            self._pending.remove(item)
            self._observer.queue_depth(len(self._pending))
        self._idle_changed()

    def _idle_changed(self) -> None:
        if self._idle is None:
            return
        if self._pending or self._in_flight:
            self._idle.clear()
        else:
            self._idle.set()

    # -- batching --------------------------------------------------------------------------------------------------
    def _take(self, key: Hashable | None, limit: int) -> list[_Item]:
        """Up to `limit` live queued items (of batch key `key`, or any key for the first), oldest first."""
        taken: list[_Item] = []
        for item in list(self._pending):
            if len(taken) >= limit:
                break
            if item.future.done():
                self._pending.remove(item)
                continue
            if key is None or item.key == key:
                self._pending.remove(item)
                taken.append(item)
                key = item.key
        return taken

    async def _dispatch_loop(self) -> None:
        assert self._arrival is not None
        assert self._slots is not None
        while True:
            while not self._pending:
                self._arrival.clear()
                await self._arrival.wait()
            await self._slots.acquire()
            batch = self._take(None, 1)
            if not batch:
                self._slots.release()
                continue
            first = batch[0]
            if first.stream:
                self._grant(first)
                self._observer.queue_depth(len(self._pending))
                continue
            gather_until = first.enqueued_at + self.settings.max_wait_ms / 1000
            while len(batch) < self._max_batch:
                batch += self._take(first.key, self._max_batch - len(batch))
                remaining = gather_until - time.monotonic()
                if len(batch) >= self._max_batch or remaining <= 0:
                    break
                self._arrival.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrival.wait(), remaining)
            self._observer.queue_depth(len(self._pending))
            task = asyncio.create_task(self._run_batch(batch))
            self._batch_tasks.add(task)
            task.add_done_callback(self._batch_tasks.discard)

    async def _run_batch(self, batch: Sequence[_Item]) -> None:
        assert self._slots is not None
        assert self._executor is not None
        live = [item for item in batch if not item.future.done()]
        try:
            if not live:
                return
            now = time.monotonic()
            for item in live:
                self._observer.queue_wait(now - item.enqueued_at)
            self._in_flight += len(live)
            self._observer.in_flight(self._in_flight)
            loop = asyncio.get_running_loop()
            async with self._engine_lock or contextlib.nullcontext():
                outcome = await loop.run_in_executor(
                    self._executor, run_engine_batch, self.engine, [i.request for i in live], self.settings,
                    self._after_batch, [i.finish for i in live],
                )  # fmt: skip
            self._record(outcome, len(live))
            if outcome.audio_s > 0:
                self._observer.synthesized(outcome.audio_s, outcome.seconds)
            for item, result in zip(live, outcome.results, strict=True):
                if item.future.done():
                    continue  # deadline passed or client left while generating: the audio is discarded
                if isinstance(result, BaseException):
                    self.stats.failed += 1
                    item.future.set_exception(result)
                else:
                    self.stats.completed += 1
                    item.future.set_result(result)
        finally:
            self._in_flight -= len(live)
            self._observer.in_flight(self._in_flight)
            self._slots.release()
            self._idle_changed()

    def _record(self, outcome: BatchOutcome, size: int) -> None:
        self.stats.batches += 1
        self.stats.batch_sizes[size] += 1
        self.stats.oom_batches += outcome.oom
        self.stats.retried_alone += outcome.retried_alone
        self._batch_seconds = (
            outcome.seconds if not self._batch_seconds else 0.8 * self._batch_seconds + 0.2 * (outcome.seconds)
        )
        self._observer.batch(size, outcome.seconds)
        if outcome.oom:
            self._observer.oom()
        if outcome.recycle_reason:
            self.begin_drain(f"recycle: {outcome.recycle_reason}")
            if self._on_recycle is not None:
                self._on_recycle(outcome.recycle_reason)
