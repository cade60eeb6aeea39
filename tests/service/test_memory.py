"""Memory hygiene: caches freed after each batch, RSS and GPU memory watched, recycle decided once."""

from __future__ import annotations

import asyncio
import sys
import types

import numpy as np
import pytest

from service.admission import AdmissionController, AdmissionSettings, DrainingError
from service.engines.base import SynthesisRequest
from service.memory import MemoryHygiene, MemoryLimits, MemorySample, cuda_sample, process_rss_bytes, sample
from tests.service.fakes.batch_engine import BatchEngine

MB = 1024 * 1024


def test_rss_is_measured_and_follows_real_allocations() -> None:
    before = process_rss_bytes()
    block = np.ones(128 * MB // 8)  # touched pages, so they are resident
    after = process_rss_bytes()
    assert before > 10 * MB
    assert after - before > 100 * MB
    del block


def test_without_cuda_in_use_gpu_figures_are_zero_and_torch_is_not_imported_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    assert cuda_sample() == (0, 0, 0)
    assert "torch" not in sys.modules


def test_cpu_torch_counts_as_no_cuda() -> None:
    import torch

    assert torch.cuda.is_available() is False
    assert cuda_sample() == (0, 0, 0)


class FakeCuda:
    """torch.cuda's memory API as seen on a GPU machine (no GPU here): a caching allocator with 1 GiB cached."""

    def __init__(self) -> None:
        self.allocated, self.reserved, self.empties = 2 * 1024 * MB, 3 * 1024 * MB, 0

    def is_available(self) -> bool:
        return True

    def is_initialized(self) -> bool:
        return True

    def current_device(self) -> int:
        return 0

    def get_device_properties(self, device: int) -> types.SimpleNamespace:
        return types.SimpleNamespace(total_memory=24 * 1024 * MB)

    def memory_allocated(self, device: int) -> int:
        return self.allocated

    def memory_reserved(self, device: int) -> int:
        return self.reserved

    def empty_cache(self) -> None:
        self.empties += 1
        self.reserved = self.allocated


def test_on_cuda_empty_cache_runs_after_each_batch_and_counters_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    cuda = FakeCuda()
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda))
    engine = BatchEngine()
    hygiene = MemoryHygiene(engine, MemoryLimits(max_gpu_reserved_fraction=0.5))
    assert hygiene.after_batch(2) is None
    assert cuda.empties == 1
    assert engine.releases == 1
    assert hygiene.last == MemorySample(hygiene.last.rss_bytes if hygiene.last else 0, 2048 * MB, 2048 * MB, 24576 * MB)
    cuda.allocated = cuda.reserved = 13 * 1024 * MB
    reason = hygiene.after_batch(1)
    assert reason is not None
    assert "over 50%" in reason


def test_release_frees_the_engine_cache_and_the_sample_shows_it() -> None:
    engine = BatchEngine(bytes_per_request=10 * MB)
    engine.load()
    engine.synthesize_batch([SynthesisRequest("abc")] * 4)
    assert sample(engine).gpu_reserved_bytes == 40 * MB + 4 * MB
    hygiene = MemoryHygiene(engine, MemoryLimits())
    hygiene.after_batch(4)
    assert hygiene.last is not None
    assert hygiene.last.gpu_reserved_bytes == 4 * MB  # only the "leak" remains
    assert hygiene.requests_served == 4


@pytest.mark.parametrize(
    ("limits", "current", "expected"),
    [
        (MemoryLimits(max_rss_bytes=100), MemorySample(101), "process RSS 101 B is over 100 B"),
        (MemoryLimits(max_rss_bytes=100), MemorySample(100), None),
        (MemoryLimits(max_gpu_reserved_bytes=5), MemorySample(1, 1, 6, 10), "GPU reserved 6 B is over 5 B"),
        (MemoryLimits(max_gpu_reserved_fraction=0.9), MemorySample(1, 1, 9, 10), None),
        (MemoryLimits(max_gpu_reserved_fraction=0.9), MemorySample(1, 1, 10, 10), "GPU reserved 100% of 10 B"),
        (MemoryLimits(), MemorySample(10**12, 10**12, 10**12, 10**12), None),
    ],
)
def test_limits(limits: MemoryLimits, current: MemorySample, expected: str | None) -> None:
    reason = MemoryHygiene(BatchEngine(), limits).check(current)
    if expected is None:
        assert reason is None
    else:
        assert reason is not None
        assert reason.startswith(expected)


def test_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="max_gpu_reserved_fraction"):
        MemoryLimits(max_gpu_reserved_fraction=1.5)
    with pytest.raises(ValueError, match="recycle_after_requests must be >= 0"):
        MemoryLimits(recycle_after_requests=-1)


def test_a_leaking_engine_is_recycled_before_it_runs_out_and_in_flight_work_finishes() -> None:
    """The 'memory only grows until a manual restart' failure: hygiene notices the growth and drains the process."""

    async def main() -> None:
        engine = BatchEngine(bytes_per_request=100 * MB, delay_s=0.01)
        engine.load()
        hygiene = MemoryHygiene(engine, MemoryLimits(max_gpu_reserved_bytes=50 * MB))
        recycles: list[str] = []
        c = AdmissionController(
            engine,
            AdmissionSettings(max_batch=1, max_concurrency=1),
            after_batch=hygiene.after_batch,
            on_recycle=recycles.append,
        )
        await c.start()
        c.set_ready()
        # 10 MB leaks per request: the 6th request crosses 50 MB; all 8 were admitted before, so all 8 finish.
        results = await asyncio.gather(*(c.submit(SynthesisRequest(f"r{i}")) for i in range(8)))
        assert len(results) == 8
        assert len(recycles) == 1
        assert "GPU reserved" in recycles[0]
        with pytest.raises(DrainingError):
            await c.submit(SynthesisRequest("after recycle"))
        assert await c.drain("recycle", timeout_s=5) == 0
        await c.close()

    asyncio.run(main())


def test_recycle_after_n_requests_is_reported_once() -> None:
    hygiene = MemoryHygiene(BatchEngine(), MemoryLimits(recycle_after_requests=3))
    assert hygiene.after_batch(2) is None
    reason = hygiene.after_batch(2)
    assert reason == "served 4 requests (recycle_after_requests=3)"
    assert hygiene.after_batch(1) is None
    assert hygiene.recycle_reason == reason
