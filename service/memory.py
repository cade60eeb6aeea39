"""Memory hygiene between batches, and the decision to recycle the process before memory runs out.

CosyVoice users report GPU memory that only grows (~0.1 GB per 100 runs, FunAudioLLM/CosyVoice#1453) and OOM under
load; the operational answer is to free caches after every batch and to restart the process gracefully past a
threshold or after N requests, with systemd starting a fresh one. torch is imported only if the process already
imported it (an engine on CUDA did): the embedded CPU engine never pays for it.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.engines.base import Engine, MemoryReport
from service.engines.process import rss_bytes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MemorySample:
    rss_bytes: int
    gpu_allocated_bytes: int = 0
    gpu_reserved_bytes: int = 0
    gpu_total_bytes: int = 0


@dataclass(frozen=True)
class MemoryLimits:
    """When to ask for a recycle (0 = no limit)."""

    max_rss_bytes: int = 0
    max_gpu_reserved_bytes: int = 0
    max_gpu_reserved_fraction: float = 0.0
    """Of the GPU's total memory, e.g. 0.9."""
    recycle_after_requests: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_gpu_reserved_fraction <= 1.0:
            raise ValueError(f"max_gpu_reserved_fraction must be in [0, 1] (got {self.max_gpu_reserved_fraction})")
        for name in ("max_rss_bytes", "max_gpu_reserved_bytes", "recycle_after_requests"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (got {getattr(self, name)})")


def process_rss_bytes() -> int:
    """Resident set size now (Linux /proc), else the peak from getrusage."""
    return rss_bytes()


def _torch_cuda() -> Any | None:
    """torch.cuda if torch is already imported and CUDA is initialized in this process, else None."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    cuda = getattr(torch, "cuda", None)
    try:
        return cuda if cuda is not None and cuda.is_available() and cuda.is_initialized() else None
    except Exception:
        return None


def cuda_sample() -> tuple[int, int, int]:
    """(allocated, reserved, total) bytes on the current CUDA device, zeros when CUDA is not in use."""
    cuda = _torch_cuda()
    if cuda is None:
        return 0, 0, 0
    device = cuda.current_device()
    total = int(cuda.get_device_properties(device).total_memory)
    return int(cuda.memory_allocated(device)), int(cuda.memory_reserved(device)), total


def sample(engine: Engine | None = None) -> MemorySample:
    """Process RSS and GPU memory: the engine's own report where it has one, else torch.cuda's counters."""
    report: MemoryReport | None = engine.memory_report() if engine is not None else None
    allocated, reserved, total = cuda_sample()
    if report is not None and (report.gpu_allocated_bytes or report.gpu_reserved_bytes):
        allocated, reserved = report.gpu_allocated_bytes, report.gpu_reserved_bytes
        total = report.gpu_total_bytes or total
    # The engine's report already read RSS: a second /proc read per batch showed in the request profile.
    rss = report.rss_bytes if report is not None and report.rss_bytes else process_rss_bytes()
    return MemorySample(rss, allocated, reserved, total)


class MemoryHygiene:
    """Runs after every batch (in the engine's worker thread): free, measure, decide.

    `after_batch(n)` returns a recycle reason once, then None; pass it as AdmissionController(after_batch=...)."""

    def __init__(
        self, engine: Engine, limits: MemoryLimits, *, observe: Callable[[MemorySample], None] | None = None
    ) -> None:
        self.engine = engine
        self.limits = limits
        self.requests_served = 0
        self.last: MemorySample | None = None
        self._observe = observe  # e.g. Metrics.memory
        self._recycle_reason: str | None = None
        self._lock = threading.Lock()

    @property
    def recycle_reason(self) -> str | None:
        return self._recycle_reason

    def release(self) -> None:
        """Drop the engine's per-batch caches, then the CUDA caching allocator's unused blocks."""
        try:
            self.engine.release()
        except Exception:
            log.exception("engine.release() failed")
        cuda = _torch_cuda()
        if cuda is not None:
            # Only between batches: cached blocks of running work are not touched by empty_cache().
            cuda.empty_cache()

    def check(self, current: MemorySample) -> str | None:
        """The first limit `current` breaks, as a readable reason, or None."""
        lim = self.limits
        if lim.recycle_after_requests and self.requests_served >= lim.recycle_after_requests:
            return f"served {self.requests_served} requests (recycle_after_requests={lim.recycle_after_requests})"
        if lim.max_rss_bytes and current.rss_bytes > lim.max_rss_bytes:
            return f"process RSS {current.rss_bytes} B is over {lim.max_rss_bytes} B"
        if lim.max_gpu_reserved_bytes and current.gpu_reserved_bytes > lim.max_gpu_reserved_bytes:
            return f"GPU reserved {current.gpu_reserved_bytes} B is over {lim.max_gpu_reserved_bytes} B"
        if (
            lim.max_gpu_reserved_fraction
            and current.gpu_total_bytes
            and current.gpu_reserved_bytes > lim.max_gpu_reserved_fraction * current.gpu_total_bytes
        ):
            share, limit = current.gpu_reserved_bytes / current.gpu_total_bytes, lim.max_gpu_reserved_fraction
            return f"GPU reserved {share:.0%} of {current.gpu_total_bytes} B is over {limit:.0%}"
        return None

    def after_batch(self, size: int) -> str | None:
        """Free, sample, and return a recycle reason the first time a limit is crossed."""
        self.release()
        current = sample(self.engine)
        with self._lock:
            self.requests_served += size
            self.last = current
            if self._observe is not None:
                self._observe(current)
            if self._recycle_reason is not None:
                return None
            reason = self.check(current)
            if reason is not None:
                self._recycle_reason = reason
                log.warning("recycle needed: %s", reason, extra={"event": "recycle", "reason": reason})
            return reason
