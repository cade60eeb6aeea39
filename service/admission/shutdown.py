"""Graceful shutdown: one sequence for a Spot notice, SIGTERM, a memory/requests recycle and POST /admin/restart.

    readiness 503 at once (the ALB stops routing) -> admitted requests finish (within their deadline)
    -> the audio spool is flushed to S3 -> the server exits, exit code 0 (systemd restarts a recycled process)

`DrainingServer` is uvicorn's Server with SIGTERM/SIGINT routed through this sequence instead of closing the
listening socket first (uvicorn's own handling would refuse connections before readiness could turn 503).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Protocol

import uvicorn

from service.admission.controller import AdmissionController

log = logging.getLogger(__name__)


class Flushable(Protocol):
    """What the coordinator needs from the audio store (service.storage.AudioStore)."""

    def flush(self, timeout_s: float) -> int: ...


@dataclass(frozen=True)
class ShutdownReport:
    reason: str
    unfinished_requests: int
    unflushed_audio: int


class ShutdownCoordinator:
    """Runs the drain sequence once, whoever asks first; `exit_server` is called at the end."""

    def __init__(
        self,
        admission: AdmissionController,
        *,
        audio_store: Flushable | None = None,
        drain_timeout_s: float | None = None,
        flush_timeout_s: float = 60.0,
        exit_server: Callable[[], None] | None = None,
    ) -> None:
        self.admission = admission
        self.audio_store = audio_store
        self.drain_timeout_s = drain_timeout_s
        self.flush_timeout_s = flush_timeout_s
        self.exit_server = exit_server
        self.report: ShutdownReport | None = None
        self._task: asyncio.Task[ShutdownReport] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Remember the app's loop (call in the lifespan), so signal handlers and worker threads can trigger."""
        self._loop = loop or asyncio.get_running_loop()

    @property
    def bound(self) -> bool:
        return self._loop is not None

    @property
    def started(self) -> bool:
        return self._task is not None

    def trigger(self, reason: str) -> None:
        """Start the sequence; safe from the event loop, a worker thread or a signal handler."""
        if self._loop is None:
            raise RuntimeError("bind() the coordinator to the event loop first")
        self._loop.call_soon_threadsafe(self._start, reason)

    def _start(self, reason: str) -> None:
        self.admission.begin_drain(reason)  # readiness turns 503 in this same loop iteration
        if self._task is None:
            self._task = asyncio.create_task(self._run(reason), name="shutdown")

    async def run(self, reason: str) -> ShutdownReport:
        """Start (if needed) and wait for the sequence (lifespan shutdown calls this)."""
        if self._task is None:
            self._start(reason)
        assert self._task is not None
        return await asyncio.shield(self._task)

    async def _run(self, reason: str) -> ShutdownReport:
        log.warning("shutdown: %s", reason, extra={"event": "shutdown", "reason": reason})
        unfinished = await self.admission.drain(reason, self.drain_timeout_s)
        unflushed = 0
        if self.audio_store is not None:
            unflushed = await asyncio.to_thread(self.audio_store.flush, self.flush_timeout_s)
        self.report = ShutdownReport(reason, unfinished, unflushed)
        log.warning(
            "drained: %d requests unfinished, %d audio files left in the spool",
            unfinished,
            unflushed,
            extra={"event": "drained", "unfinished": unfinished, "unflushed": unflushed},
        )
        if self.exit_server is not None:
            self.exit_server()
        return self.report


class DrainingServer(uvicorn.Server):
    """uvicorn.Server whose first SIGTERM/SIGINT drains through the coordinator; a second one exits at once.

    The coordinator is `self.coordinator`, else the one the service's lifespan put on `app.state.service`."""

    coordinator: ShutdownCoordinator | None = None

    def _find_coordinator(self) -> ShutdownCoordinator | None:
        if self.coordinator is not None:
            return self.coordinator
        state = getattr(getattr(self.config.app, "state", None), "service", None)
        found = getattr(state, "coordinator", None)
        return found if isinstance(found, ShutdownCoordinator) else None

    signals_received: int = 0

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        coordinator = self._find_coordinator()
        self.signals_received += 1
        if coordinator is not None and coordinator.bound and self.signals_received == 1:
            # Not recorded as a captured signal: after a clean drain the process exits 0 (systemd: success).
            # When a Spot notice, a recycle or an admin restart already started the drain, the first signal lets
            # that drain finish (it stops the server itself) instead of cutting it short with exit code -15.
            if not coordinator.started:
                coordinator.trigger("SIGTERM" if sig == 15 else f"signal {sig}")
            return
        super().handle_exit(sig, frame)
