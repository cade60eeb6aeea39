"""Admission settings, the observer hook metrics plug into, and the counters tests and logs read."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from voicefleet_config import ServiceLimits, limits_of


class AdmissionSettings(ServiceLimits):
    """The service's limits (max_queue, max_concurrency, max_batch, max_wait_ms, request_timeout_s: voicefleet_config's
    ServiceLimits, with their bounds), plus how admission answers when they are reached."""

    retry_after_s: float = 1.0
    """Retry-After floor for 429 (scaled up with the backlog)."""
    unavailable_retry_after_s: float = 5.0
    """Retry-After for 503 (loading, draining, out of GPU memory)."""
    oom_retry_alone: bool = True
    """On CUDA OOM in a batch of several, retry each request alone once before answering 503."""
    disconnect_poll_s: float = 0.2

    @classmethod
    def from_limits(cls, limits: ServiceLimits, **answers: object) -> AdmissionSettings:
        """Admission for the limits of `limits` (Settings, an environment's ServiceConfig, ...); `answers` set the
        fields above."""
        return cls.model_validate({**limits_of(limits), **answers})


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
