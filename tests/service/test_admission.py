"""Admission control and batching against a real (fake) engine in worker threads: no mocks of the scheduler."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from service.admission import (
    AdmissionController,
    AdmissionSettings,
    ClientGoneError,
    DeadlineExceededError,
    DrainingError,
    EngineOverloadedError,
    NotReadyError,
    QueueFullError,
)
from service.admission.execution import run_engine_batch
from service.engines.base import EngineError, SynthesisRequest, SynthesisResult
from tests.service.fakes.batch_engine import BatchEngine, tone

Scenario = Callable[[AdmissionController, BatchEngine], Awaitable[Any]]


def run(scenario: Scenario, engine: BatchEngine, **settings: Any) -> Any:
    """Run `scenario` against a started controller; always drains the threads afterwards."""

    async def main() -> Any:
        engine.load()
        controller = AdmissionController(engine, AdmissionSettings(**settings))
        await controller.start()
        controller.set_ready()
        try:
            return await scenario(controller, engine)
        finally:
            engine.gate.set()
            await controller.close()

    return asyncio.run(main())


def req(text: str, **kw: Any) -> SynthesisRequest:
    return SynthesisRequest(text=text, request_id=text, **kw)


async def wait_until(predicate: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Wait for a state, not a fixed time (CI machines can be slow); fail clearly if it never comes."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


def test_concurrent_requests_are_batched_and_each_gets_its_own_audio() -> None:
    async def scenario(c: AdmissionController, e: BatchEngine) -> None:
        texts = [f"request number {i}" + "x" * i for i in range(12)]
        results = await asyncio.gather(*(c.submit(req(t)) for t in texts))
        for text, result in zip(texts, results, strict=True):
            assert len(result.audio) == len(tone(text))
        assert c.stats.max_batch_seen > 1
        assert all(len(b) <= 4 for b in e.batches)
        assert sum(len(b) for b in e.batches) == 12
        assert c.stats.completed == 12

    run(scenario, BatchEngine(delay_s=0.02), max_batch=4, max_wait_ms=50, max_concurrency=4)


def test_incompatible_requests_are_never_mixed_in_one_batch() -> None:
    async def scenario(c: AdmissionController, e: BatchEngine) -> None:
        e.gate.clear()
        first = asyncio.create_task(c.submit(req("hold", language="en")))
        await wait_until(lambda: e.active == 1)
        langs = ["en", "zh", "en", "zh", "ja", "en"]
        rest = [asyncio.create_task(c.submit(req(f"t{i}", language=lang))) for i, lang in enumerate(langs)]
        await wait_until(lambda: c.queue_depth == len(langs))
        e.gate.set()
        await asyncio.gather(first, *rest)
        lang_of = {f"t{i}": lang for i, lang in enumerate(langs)} | {"hold": "en"}
        for batch in e.batches:
            assert len({lang_of[t] for t in batch}) == 1, batch
        assert sorted(len(b) for b in e.batches) == [1, 1, 2, 3]

    run(scenario, BatchEngine(), max_batch=8, max_wait_ms=0, max_concurrency=8)


def test_engine_without_batching_runs_singles_with_bounded_parallelism() -> None:
    async def scenario(c: AdmissionController, e: BatchEngine) -> None:
        await asyncio.gather(*(c.submit(req(f"s{i}")) for i in range(10)))
        assert all(len(b) == 1 for b in e.batches)
        assert 1 < e.max_active <= 3

    run(scenario, BatchEngine(batching=False, delay_s=0.03), max_batch=8, max_concurrency=3)


def test_full_queue_gets_429_with_retry_after_and_admitted_requests_all_succeed() -> None:
    async def scenario(c: AdmissionController, e: BatchEngine) -> None:
        e.gate.clear()
        admitted = [asyncio.create_task(c.submit(req("a0")))]
        await wait_until(lambda: e.active == 1)
        admitted += [asyncio.create_task(c.submit(req(f"a{i}"))) for i in range(1, 4)]
        await wait_until(lambda: c.queue_depth == 3)
        with pytest.raises(QueueFullError) as info:
            await c.submit(req("one too many"))
        assert info.value.status_code == 429
        assert info.value.retry_after_header is not None
        assert int(info.value.retry_after_header) >= 1
        e.gate.set()
        results = await asyncio.gather(*admitted)
        assert len(results) == 4
        assert c.stats.rejected["queue_full"] == 1

    run(scenario, BatchEngine(), max_batch=1, max_concurrency=1, max_queue=3)


def test_not_ready_and_draining_get_503_with_retry_after() -> None:
    async def scenario(c: AdmissionController, e: BatchEngine) -> None:
        c.set_ready(False)
        with pytest.raises(NotReadyError) as not_ready:
            await c.submit(req("early"))
        c.set_ready(True)
        await c.submit(req("fine"))
        c.begin_drain("spot interruption")
        with pytest.raises(DrainingError) as draining:
            await c.submit(req("late"))
        for err in (not_ready.value, draining.value):
            assert err.status_code == 503
            assert err.retry_after_header == "5"
        assert "spot interruption" in str(draining.value)
        assert not c.accepting

    run(scenario, BatchEngine())


def test_deadline_gives_504_and_frees_the_queue_slot() -> None:
    async def scenario(c: AdmissionController, e: BatchEngine) -> None:
        e.gate.clear()
        busy = asyncio.create_task(c.submit(req("busy"), timeout_s=30))
        await wait_until(lambda: e.active == 1)
        with pytest.raises(DeadlineExceededError) as info:
            await c.submit(req("slow"), timeout_s=0.1)
        assert info.value.status_code == 504
        assert c.queue_depth == 0
        e.gate.set()
        await busy
        assert ["slow"] not in e.batches

    run(scenario, BatchEngine(), max_batch=1, max_concurrency=1)


def test_client_disconnect_drops_the_request_before_it_reaches_the_engine() -> None:
    async def scenario(c: AdmissionController, e: BatchEngine) -> None:
        e.gate.clear()
        busy = asyncio.create_task(c.submit(req("busy")))
        await wait_until(lambda: e.active == 1)
        gone = asyncio.Event()

        async def is_disconnected() -> bool:
            return gone.is_set()

        waiting = asyncio.create_task(c.submit(req("leaver"), is_disconnected=is_disconnected))
        await wait_until(lambda: c.queue_depth == 1)
        gone.set()
        with pytest.raises(ClientGoneError):
            await waiting
        assert c.queue_depth == 0
        e.gate.set()
        await busy
        assert all("leaver" not in b for b in e.batches)
        assert c.stats.client_gone == 1

    run(scenario, BatchEngine(), max_batch=1, max_concurrency=1, disconnect_poll_s=0.02)


def test_cancelled_submit_is_removed_from_the_queue() -> None:
    async def scenario(c: AdmissionController, e: BatchEngine) -> None:
        e.gate.clear()
        busy = asyncio.create_task(c.submit(req("busy")))
        await wait_until(lambda: e.active == 1)
        waiting = asyncio.create_task(c.submit(req("cancelled")))
        await wait_until(lambda: c.queue_depth == 1)
        waiting.cancel()
        await wait_until(lambda: c.queue_depth == 0)
        e.gate.set()
        await busy
        assert all("cancelled" not in b for b in e.batches)

    run(scenario, BatchEngine(), max_batch=1, max_concurrency=1)


def test_oom_in_a_batch_retries_each_request_alone_and_all_succeed() -> None:
    async def scenario(c: AdmissionController, e: BatchEngine) -> None:
        e.gate.clear()
        hold = asyncio.create_task(c.submit(req("hold")))
        await wait_until(lambda: e.active == 1)
        rest = [asyncio.create_task(c.submit(req(f"r{i}"))) for i in range(4)]
        await wait_until(lambda: c.queue_depth == 4)
        e.gate.set()
        results = await asyncio.gather(hold, *rest)
        assert len(results) == 5
        assert c.stats.oom_batches == 1
        assert c.stats.retried_alone == 4
        assert e.releases >= 2  # freed after the OOM, and after the batch

    run(scenario, BatchEngine(oom_above_batch=1), max_batch=4, max_concurrency=4, max_wait_ms=0)


def test_oom_answers_503_then_the_service_recovers() -> None:
    async def scenario(c: AdmissionController, e: BatchEngine) -> None:
        e.oom_next_calls = 1
        with pytest.raises(EngineOverloadedError) as info:
            await c.submit(req("too big"))
        assert info.value.status_code == 503
        assert info.value.retry_after_header == "5"
        result = await c.submit(req("next one"))
        assert len(result.audio) == len(tone("next one"))
        assert c.accepting

    run(scenario, BatchEngine(), oom_retry_alone=False)


def test_oom_without_solo_retry_fails_the_whole_batch_with_503_and_keeps_serving() -> None:
    async def scenario(c: AdmissionController, e: BatchEngine) -> None:
        e.gate.clear()
        hold = asyncio.create_task(c.submit(req("hold")))
        await wait_until(lambda: e.active == 1)
        rest = [asyncio.create_task(c.submit(req(f"r{i}"))) for i in range(3)]
        await wait_until(lambda: c.queue_depth == 3)
        e.gate.set()
        await hold
        outcomes = await asyncio.gather(*rest, return_exceptions=True)
        assert all(isinstance(o, EngineOverloadedError) for o in outcomes)
        assert len((await c.submit(req("after"))).audio) > 0

    run(scenario, BatchEngine(oom_above_batch=1), max_batch=4, max_concurrency=4, max_wait_ms=0, oom_retry_alone=False)


def test_one_bad_request_does_not_fail_its_batch_companions() -> None:
    async def scenario(c: AdmissionController, e: BatchEngine) -> None:
        e.gate.clear()
        hold = asyncio.create_task(c.submit(req("hold")))
        await wait_until(lambda: e.active == 1)
        texts = ["ok1", "BAD input", "ok2"]
        rest = [asyncio.create_task(c.submit(req(t))) for t in texts]
        await wait_until(lambda: c.queue_depth == 3)
        e.gate.set()
        await hold
        outcomes = await asyncio.gather(*rest, return_exceptions=True)
        assert isinstance(outcomes[1], EngineError)
        assert "BAD input" in str(outcomes[1])
        assert not isinstance(outcomes[0], BaseException)
        assert not isinstance(outcomes[2], BaseException)

    run(scenario, BatchEngine(), max_batch=4, max_concurrency=4, max_wait_ms=0)


def test_finish_runs_in_the_engine_thread_per_request_and_its_error_is_that_requests_own() -> None:
    """A batch of three with post-processing: each submitter gets what its own `finish` made of its own audio, made
    in the engine's worker thread (no second hand-off); a `finish` that raises fails its request only; the engine
    time the metrics see excludes the post-processing."""

    async def scenario(c: AdmissionController, e: BatchEngine) -> None:
        loop_thread = threading.get_ident()
        made_in: list[int] = []

        def finish(result: SynthesisResult) -> tuple[int, int]:
            made_in.append(threading.get_ident())
            time.sleep(0.2)  # post-processing far slower than the engine call
            return len(result.audio), threading.get_ident()

        def broken(result: SynthesisResult) -> None:
            raise ValueError("cannot encode")

        e.gate.clear()
        hold = asyncio.create_task(c.submit(req("hold")))
        await wait_until(lambda: e.active == 1)
        texts = ["one", "three", "broken"]
        rest = [asyncio.create_task(c.submit(req(t), finish=broken if t == "broken" else finish)) for t in texts]
        await wait_until(lambda: c.queue_depth == 3)
        e.gate.set()
        await hold
        one, three, failed = await asyncio.gather(*rest, return_exceptions=True)
        assert isinstance(one, tuple)
        assert isinstance(three, tuple)
        assert one[0] == len(tone("one"))
        assert three[0] == len(tone("three"))
        assert isinstance(failed, ValueError)
        assert "cannot encode" in str(failed)
        assert len(e.batches) == 2
        assert sorted(e.batches[1]) == sorted(texts)
        assert made_in
        assert loop_thread not in made_in
        assert one[1] == three[1]
        assert c.stats.failed == 1
        assert c.stats.completed == 3

    run(scenario, BatchEngine(), max_batch=4, max_concurrency=4, max_wait_ms=0)


def test_a_batchs_engine_time_and_audio_exclude_its_post_processing() -> None:
    engine = BatchEngine()
    engine.load()

    def slow(result: SynthesisResult) -> str:
        time.sleep(0.3)
        return "encoded"

    outcome = run_engine_batch(engine, [req("a"), req("bb")], AdmissionSettings(), None, [slow, None])
    assert outcome.results[0] == "encoded"
    assert isinstance(outcome.results[1], SynthesisResult)
    assert outcome.seconds < 0.3  # what RTF, batch-time metrics and Retry-After see: the engine alone
    assert outcome.audio_s == pytest.approx((len(tone("a")) + len(tone("bb"))) / engine.capabilities.sample_rate)


def test_drain_refuses_new_work_and_finishes_everything_admitted() -> None:
    async def scenario(c: AdmissionController, e: BatchEngine) -> None:
        e.gate.clear()
        admitted = [asyncio.create_task(c.submit(req(f"d{i}"))) for i in range(5)]
        await wait_until(lambda: e.active == 1 and c.queue_depth == 4)
        drain = asyncio.create_task(c.drain("SIGTERM", timeout_s=20))
        await asyncio.sleep(0)
        with pytest.raises(DrainingError):
            await c.submit(req("late"))
        assert not drain.done()
        e.gate.set()
        assert await drain == 0
        assert len(await asyncio.gather(*admitted)) == 5
        assert c.stats.completed == 5

    run(scenario, BatchEngine(), max_batch=1, max_concurrency=1)


def test_streams_are_refused_like_requests_and_a_drain_waits_for_an_open_stream() -> None:
    async def scenario(c: AdmissionController, e: BatchEngine) -> None:
        e.gate.clear()  # the stream's first step stays "on the GPU"
        handle = await c.open_stream(req("a stream"))
        first = asyncio.create_task(handle.first())
        await wait_until(lambda: e.active == 1)
        drain = asyncio.create_task(c.drain("SIGTERM", timeout_s=20))
        await asyncio.sleep(0.05)
        assert not drain.done()  # the open stream counts as in flight
        with pytest.raises(DrainingError):
            await c.open_stream(req("too late"))
        e.gate.set()
        assert (await first) is not None
        assert [s async for s in handle.rest()] == []
        assert await drain == 0
        assert (c.stats.streams, c.stats.rejected["draining"]) == (1, 1)

    run(scenario, BatchEngine(batching=False), max_concurrency=1)


def test_a_stream_holds_its_slot_and_batches_wait_for_it() -> None:
    async def scenario(c: AdmissionController, e: BatchEngine) -> None:
        handle = await c.open_stream(req("the stream"))  # holds the only slot until closed
        waiting = asyncio.create_task(c.submit(req("after the stream")))
        await asyncio.sleep(0.1)
        assert e.batches == []
        assert (c.queue_depth, c.in_flight) == (1, 1)
        await handle.aclose()
        assert (await waiting).audio.size == tone("after the stream").size

    run(scenario, BatchEngine(batching=False), max_concurrency=1)


def test_streams_wait_in_the_queue_and_a_full_queue_is_429() -> None:
    async def scenario(c: AdmissionController, e: BatchEngine) -> None:
        held = await c.open_stream(req("first"))
        queued = asyncio.create_task(c.open_stream(req("second")))
        await wait_until(lambda: c.queue_depth == 1)
        with pytest.raises(QueueFullError) as refused:
            await c.open_stream(req("third"))
        assert (refused.value.retry_after_s or 0) >= 1
        await held.aclose()
        second = await queued
        assert c.streams == 1
        await second.aclose()
        assert (c.streams, c.in_flight) == (0, 0)

    run(scenario, BatchEngine(batching=False), max_concurrency=1, max_queue=1)


def test_a_stream_that_gets_no_slot_in_time_is_504_and_leaves_the_queue() -> None:
    async def scenario(c: AdmissionController, e: BatchEngine) -> None:
        held = await c.open_stream(req("first"))
        with pytest.raises(DeadlineExceededError, match="first-audio deadline"):
            await c.open_stream(req("second"), first_audio_s=0.2)
        assert c.queue_depth == 0
        await held.aclose()
        assert c.in_flight == 0

    run(scenario, BatchEngine(batching=False), max_concurrency=1)


def test_slow_first_audio_is_504_and_the_slot_comes_back() -> None:
    async def scenario(c: AdmissionController, e: BatchEngine) -> None:
        e.gate.clear()
        handle = await c.open_stream(req("slow"), first_audio_s=0.3)
        with pytest.raises(DeadlineExceededError, match="first-audio"):
            await handle.first()
        e.gate.set()  # the step in flight finishes; then the slot is free
        await wait_until(lambda: c.in_flight == 0)
        assert (await c.submit(req("next"))).audio.size > 0

    run(scenario, BatchEngine(batching=False), max_concurrency=1)


def test_streams_and_batches_share_the_engine_slots() -> None:
    async def scenario(c: AdmissionController, e: BatchEngine) -> None:
        e.gate.clear()
        handles = [await c.open_stream(req(f"stream {i}")) for i in range(2)]
        firsts = [asyncio.create_task(h.first()) for h in handles]
        batch = asyncio.create_task(c.submit(req("a request")))
        await wait_until(lambda: e.active == 2)
        await asyncio.sleep(0.1)
        assert e.active == 2  # two slots, both streaming; the request waits
        assert c.queue_depth == 1
        e.gate.set()
        await asyncio.gather(*firsts)
        for h in handles:
            await h.aclose()
        assert (await batch).audio.size > 0
        assert e.max_active == 2

    run(scenario, BatchEngine(batching=False), max_concurrency=2)


def test_recycle_reason_from_the_after_batch_hook_stops_admission() -> None:
    async def main() -> None:
        engine = BatchEngine()
        engine.load()
        seen: list[str] = []
        count = {"n": 0}

        def after_batch(size: int) -> str | None:
            count["n"] += size
            return "served 2 requests" if count["n"] >= 2 else None

        c = AdmissionController(engine, AdmissionSettings(), after_batch=after_batch, on_recycle=seen.append)
        await c.start()
        c.set_ready()
        await c.submit(req("one"))
        assert c.accepting
        await c.submit(req("two"))
        assert seen == ["served 2 requests"]
        assert c.draining
        with pytest.raises(DrainingError):
            await c.submit(req("three"))
        await c.close()

    asyncio.run(main())


def test_an_engine_crash_costs_its_requests_only() -> None:
    class Crashing(BatchEngine):
        def synthesize_batch(self, requests: Any) -> Any:
            if requests[0].text == "crash":
                raise RuntimeError("segfault-ish")
            return super().synthesize_batch(requests)

    async def scenario(c: AdmissionController, e: BatchEngine) -> None:
        with pytest.raises(EngineError, match="internal engine error: RuntimeError"):
            await c.submit(req("crash"))
        assert len((await c.submit(req("fine"))).audio) > 0

    run(scenario, Crashing())


def test_settings_refuse_nonsense_and_follow_the_environment_config() -> None:
    from voicefleet_config import load_environment

    with pytest.raises(ValueError, match="max_queue"):
        AdmissionSettings(max_queue=0)
    prod = load_environment("prod")
    settings = AdmissionSettings.from_limits(prod.service, oom_retry_alone=False)
    assert settings.oom_retry_alone is False
    assert settings.max_batch == prod.service.max_batch
    assert settings.max_queue == prod.service.max_queue


def test_engine_workers_1_never_runs_two_batches_at_once_and_a_shared_executor_is_left_open() -> None:
    """Engines that are not re-entrant (espeak, CosyVoice3) get one engine thread, shared with streaming."""
    from concurrent.futures import ThreadPoolExecutor

    shared = ThreadPoolExecutor(max_workers=1)

    async def main() -> None:
        engine = BatchEngine(batching=False, delay_s=0.01)
        engine.load()
        c = AdmissionController(engine, AdmissionSettings(max_concurrency=8), engine_workers=1, executor=shared)
        await c.start()
        c.set_ready()
        await asyncio.gather(*(c.submit(req(f"w{i}")) for i in range(6)))
        await c.close()
        assert engine.max_active == 1

    asyncio.run(main())
    assert shared.submit(lambda: 42).result() == 42  # not shut down by the controller
    shared.shutdown()
