"""Admission settings, the observer hook metrics plug into, and the counters tests and logs read."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from infra.config.model import ServiceConfig


@dataclass(frozen=True)
class AdmissionSettings:
    """Limits of the queue in front of the engine (the TTS_MAX_* settings)."""

    max_queue: int = 64
    """Requests waiting for the engine; one more gets 429."""
    max_concurrency: int = 8
    """Requests inside the engine at once (batching engines: batches of up to max_batch share this budget)."""
    max_batch: int = 8
    max_wait_ms: int = 20
    """How long the first request of a batch waits for companions."""
    request_timeout_s: float = 60.0
    """Deadline from admission to result (a stream: to its first audio); past it the client gets 504."""
    stream_timeout_s: float = 300.0
    """Deadline from admission to a stream's last audio; past it the stream is cut (the client sees a broken body)."""
    retry_after_s: float = 1.0
    """Retry-After floor for 429 (scaled up with the backlog)."""
    unavailable_retry_after_s: float = 5.0
    """Retry-After for 503 (loading, draining, out of GPU memory)."""
    oom_retry_alone: bool = True
    """On CUDA OOM in a batch of several, retry each request alone once before answering 503."""
    disconnect_poll_s: float = 0.2

    def __post_init__(self) -> None:
        for name in ("max_queue", "max_concurrency", "max_batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1 (got {getattr(self, name)})")
        if self.max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be >= 0 (got {self.max_wait_ms})")
        if self.request_timeout_s <= 0:
            raise ValueError(f"request_timeout_s must be > 0 (got {self.request_timeout_s})")

    @classmethod
    def from_service_config(cls, config: ServiceConfig) -> AdmissionSettings:
        """The same limits the environment's cdk.json gives the fleet."""
        return cls(
            max_queue=config.max_queue,
            max_concurrency=config.max_concurrency,
            max_batch=config.max_batch,
            max_wait_ms=config.max_wait_ms,
            request_timeout_s=config.request_timeout_s,
        )


class AdmissionObserver(Protocol):
    """Receives observations as they happen (service.metrics.Metrics implements it)."""

    def queue_depth(self, depth: int) -> None: ...

    def in_flight(self, count: int) -> None: ...

    def queue_wait(self, seconds: float) -> None: ...

    def batch(self, size: int, seconds: float) -> None: ...

    def rejected(self, reason: str) -> None: ...

    def oom(self) -> None: ...

    def synthesized(self, audio_seconds: float, synthesis_seconds: float) -> None: ...


class NullObserver:
    """Observes nothing."""

    def queue_depth(self, depth: int) -> None:
        pass

    def in_flight(self, count: int) -> None:
        pass

    def queue_wait(self, seconds: float) -> None:
        pass

    def batch(self, size: int, seconds: float) -> None:
        pass

    def rejected(self, reason: str) -> None:
        pass

    def oom(self) -> None:
        pass

    def synthesized(self, audio_seconds: float, synthesis_seconds: float) -> None:
        pass


@dataclass
class AdmissionStats:
    """What happened to every request offered to admission; `lost` must always be 0."""

    offered: int = 0
    admitted: int = 0
    completed: int = 0
    failed: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    deadline_exceeded: int = 0
    client_gone: int = 0
    oom_batches: int = 0
    retried_alone: int = 0
    batches: int = 0
    streams: int = 0
    batch_sizes: Counter[int] = field(default_factory=Counter)

    @property
    def max_batch_seen(self) -> int:
        return max(self.batch_sizes, default=0)
