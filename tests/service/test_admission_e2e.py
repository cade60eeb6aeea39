"""Admission, batching, CUDA OOM, streams and metrics on the real app (create_app) behind a real uvicorn.

espeak is the engine wherever it can show the behaviour. It cannot batch (one synthesis at a time per process), so
the batching test serves the fake batch engine through create_app's test-only `engine=` hook.
"""

from __future__ import annotations

import asyncio
import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import soundfile as sf

from benchmarks.http_driver import Tally, send, speech
from tests.service.conftest import LiveServer, live_server, make_settings
from tests.service.fakes.batch_engine import SAMPLE_RATE, BatchEngine

KEY = "k-client-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}


async def burst(url: str, n: int, prefix: str = "burst") -> Tally:
    result = Tally()
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await asyncio.gather(*(send(client, result, speech(f"{prefix} number {i}."), headers=AUTH) for i in range(n)))
    return result


def metric(url: str, name: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith((name + " ", name + "{")):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def test_queue_full_gives_429_with_retry_after_while_every_admitted_request_succeeds(tmp_path: Path) -> None:
    # espeak made slow on purpose (TTS_FAULT_DELAY_MS, a drill setting) so 20 requests outrun one engine thread.
    settings = make_settings(
        voices_dir=tmp_path, api_keys=[KEY], fault_delay_ms=150, max_queue=4, max_concurrency=1, max_batch=1
    )
    with live_server(settings) as live:
        result = asyncio.run(burst(live.url, 20))
        print(f"\n429 burst (espeak, queue 4): {result.describe()}")
        assert result.lost == 0, result.errors
        assert result.rejected[429] > 0
        assert result.served + result.rejected[429] == 20
        assert result.served == live.state.admission.stats.completed
        for response in result.responses:
            if response.status_code == 429:
                assert int(response.headers["retry-after"]) >= 1
                error = response.json()["error"]
                assert (error["code"], error["type"]) == ("queue_full", "rate_limit_error")
                assert "queue is full" in error["message"]
            else:
                audio, rate = sf.read(io.BytesIO(response.content))
                assert rate == 22050
                assert len(audio) > rate // 2  # real speech, not an empty file
        rejected = metric(live.url, 'voicefleet_admission_rejected_total{reason="queue_full"}')
        assert rejected == result.rejected[429]
        assert metric(live.url, 'voicefleet_http_requests_total{method="POST",route="/v1/audio/speech",status="429"}')


@pytest.fixture
def batching(tmp_path: Path) -> Iterator[tuple[LiveServer, BatchEngine]]:
    engine = BatchEngine(delay_s=0.05)
    settings = make_settings(voices_dir=tmp_path, api_keys=[KEY], max_batch=8, max_concurrency=8, max_wait_ms=20)
    with live_server(settings, engine=engine) as live:
        yield live, engine


def test_concurrent_load_is_batched_and_health_answers_while_the_engine_is_busy(
    batching: tuple[LiveServer, BatchEngine],
) -> None:
    live, engine = batching
    engine.gate.clear()

    async def scenario() -> Tally:
        task = asyncio.create_task(burst(live.url, 24, prefix="hello"))
        deadline = time.monotonic() + 60
        while engine.active != 1:
            assert time.monotonic() < deadline, "the burst never reached the engine"
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=live.url, timeout=5) as client:
            # The engine thread is blocked mid-batch; the event loop still answers.
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/readyz")).status_code == 200
            assert (await client.get("/metrics")).status_code == 200
            assert engine.active == 1
        engine.gate.set()
        return await task

    result = asyncio.run(scenario())
    assert result.served == 24, result.describe()
    sizes = [len(batch) for batch in engine.batches]
    print(f"\nbatch sizes under 24 concurrent requests: {sizes}")
    assert max(sizes) > 1
    assert sum(sizes) == 24
    for response in result.responses:
        assert sf.info(io.BytesIO(response.content)).samplerate == SAMPLE_RATE
    assert metric(live.url, "voicefleet_batch_size_sum") / metric(live.url, "voicefleet_batch_size_count") > 1
    assert metric(live.url, "voicefleet_queue_wait_seconds_count") == 24
    assert metric(live.url, "voicefleet_audio_generated_seconds_total") > 0
    assert metric(live.url, "voicefleet_real_time_factor_ratio_count") == len(sizes)
    assert metric(live.url, 'voicefleet_http_requests_total{method="POST",route="/v1/audio/speech",status="200"}') == 24


def test_streams_are_gated_on_queue_depth_and_drain_and_count_as_in_flight(
    tmp_path: Path,
) -> None:
    engine = BatchEngine()
    settings = make_settings(voices_dir=tmp_path, max_queue=2, max_concurrency=1, max_batch=1)
    with live_server(settings, engine=engine) as live:
        engine.gate.clear()

        async def full_queue() -> tuple[httpx.Response, int]:
            # One request into the engine (held there by the gate), then two into the queue: sent in that order,
            # since three at once may all reach the queue before the engine takes one (then one is refused).
            # Waits are for the state itself, not a fixed time (CI machines can be slow), and fail clearly.
            async def reach(predicate: Callable[[], bool], what: str) -> None:
                deadline = time.monotonic() + 60
                while not predicate():
                    assert time.monotonic() < deadline, f"never reached: {what}"
                    await asyncio.sleep(0.01)

            first = asyncio.create_task(burst(live.url, 1, prefix="engine"))
            await reach(lambda: engine.active == 1, "one request in the engine")
            rest = asyncio.create_task(burst(live.url, 2, prefix="queued"))
            await reach(lambda: live.state.admission.queue_depth == 2, "two requests queued")
            async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
                refused = await client.post("/v1/audio/speech", json=speech("stream me.", stream=True), headers=AUTH)
            engine.gate.set()
            return refused, (await first).served + (await rest).served

        refused, served = asyncio.run(full_queue())
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "queue_full"
        assert served == 3
        streamed = httpx.post(f"{live.url}/v1/audio/speech", json=speech("a short stream.", stream=True))
        assert streamed.status_code == 200
        audio, rate = sf.read(io.BytesIO(streamed.content))
        assert (rate, len(audio)) == (SAMPLE_RATE, len("a short stream.") * SAMPLE_RATE // 100)
        assert live.state.admission.stats.streams == 1

        # Hold one request in the engine so the drain cannot finish (and the server exit) before the late request.
        engine.gate.clear()
        held_status: list[int] = []
        held = threading.Thread(
            target=lambda: held_status.append(
                httpx.post(f"{live.url}/v1/audio/speech", json=speech("held."), timeout=60).status_code
            ),
            daemon=True,
        )
        held.start()
        deadline = time.monotonic() + 60
        while engine.active != 1:
            assert time.monotonic() < deadline, "the held request never reached the engine"
            time.sleep(0.01)
        live.state.coordinator.trigger("test drain")
        while not live.state.admission.draining:
            assert time.monotonic() < deadline, "the drain never started"
            time.sleep(0.01)
        draining = httpx.post(f"{live.url}/v1/audio/speech", json=speech("too late.", stream=True))
        assert draining.status_code == 503
        assert draining.headers["retry-after"] == "5"
        assert draining.headers["connection"] == "close"  # no keep-alive into a closing server
        assert draining.json()["error"]["code"] == "draining"
        engine.gate.set()
        held.join(60)
        assert held_status == [200], "the request in flight when the drain began was not finished"
        assert live.wait_stopped(), "the drain did not stop the server"


def test_cuda_oom_gives_503_with_retry_after_then_the_service_recovers(tmp_path: Path) -> None:
    # espeak with an injected CUDA OOM on every 2nd engine call (TTS_FAULT_OOM_EVERY, a test/drill setting).
    settings = make_settings(voices_dir=tmp_path, fault_oom_every=2)
    with live_server(settings) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        first = client.post("/v1/audio/speech", json=speech("第一句话。"))
        assert first.status_code == 200
        failed = client.post("/v1/audio/speech", json=speech("第二句话。"))
        assert failed.status_code == 503
        assert failed.headers["retry-after"] == "5"
        error = failed.json()["error"]
        assert error["code"] == "engine_out_of_memory"
        assert "out of memory" in error["message"]
        assert client.get("/readyz").status_code == 200  # the process kept serving
        recovered = client.post("/v1/audio/speech", json=speech("第三句话。"))
        assert recovered.status_code == 200
        assert len(sf.read(io.BytesIO(recovered.content))[0]) > 0
        assert metric(live.url, "voicefleet_engine_oom_total") == 1
        assert metric(live.url, "voicefleet_audio_generated_seconds_total") > 0.5
        assert metric(live.url, "process_resident_memory_bytes") > 10_000_000
        assert metric(live.url, "voicefleet_engine_load_seconds") > 0
        assert metric(live.url, "voicefleet_ready") == 1
        assert metric(live.url, 'voicefleet_http_requests_total{method="POST",route="/v1/audio/speech",status="503"}')


def test_a_client_that_leaves_is_dropped_from_the_queue_and_a_late_request_gets_504(tmp_path: Path) -> None:
    engine = BatchEngine()
    settings = make_settings(voices_dir=tmp_path, max_concurrency=1, max_batch=1, request_timeout_s=1.5)
    with live_server(settings, engine=engine) as live:
        engine.gate.clear()
        stats = live.state.admission.stats

        async def scenario() -> tuple[httpx.Response, httpx.Response]:
            async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
                held = asyncio.create_task(client.post("/v1/audio/speech", json=speech("held on the gpu.")))
                while engine.active == 0:
                    await asyncio.sleep(0.01)
                with pytest.raises(httpx.ReadTimeout):  # this client gives up while its request is queued
                    await client.post("/v1/audio/speech", json=speech("impatient client."), timeout=0.3)
                while stats.client_gone == 0:
                    await asyncio.sleep(0.01)
                late = await client.post("/v1/audio/speech", json=speech("stuck behind the gate."))
                engine.gate.set()
                return await held, late

        held, late = asyncio.run(scenario())
        assert held.status_code == 504  # the gate outlived its 1.5 s deadline too
        assert late.status_code == 504
        assert late.json()["error"]["code"] == "deadline_exceeded"
        assert stats.client_gone == 1
        assert stats.deadline_exceeded == 2
        # Neither the departed request nor the expired one ever reached the engine.
        assert engine.batches == [["held on the gpu."]]


@pytest.mark.parametrize(
    "form",
    [
        pytest.param({"response_format": "wav", "sample_rate": 48000}, id="wav"),
        pytest.param({"response_format": "pcm", "sample_rate": 48000, "stream_format": "sse"}, id="sse"),
    ],
)
def test_a_stream_whose_client_stops_reading_gives_its_slot_back_at_the_stream_deadline(
    tmp_path: Path, form: dict[str, object]
) -> None:
    """Regression: a client that kept a stream open but stopped reading held espeak's only slot until it hung up,
    stream_timeout_s notwithstanding (the deadline was checked only between segments, never while the server waited
    to send one), so every other request got 504. Now the send is bounded by the same deadline."""
    settings = make_settings(voices_dir=tmp_path, max_concurrency=1, stream_timeout_s=2.0)
    with live_server(settings) as live:
        text = ("今天天气很好，我们一起去公园散步吧。" * 12)[:200]  # a long stream: megabytes of 48 kHz WAV
        body = json.dumps({"input": text, **form}).encode()
        host, port = live.url.removeprefix("http://").split(":")
        with socket.socket() as stalled:
            stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills at once: the server blocks
            stalled.connect((host, int(port)))
            head = "POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            stalled.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            assert stalled.recv(12) == b"HTTP/1.1 200"  # admitted and streaming; from here on it reads nothing
            opened = time.monotonic()
            while metric(live.url, "voicefleet_in_flight_requests") != 0:
                assert time.monotonic() - opened < settings.stream_timeout_s + 1, "the stalled stream kept its slot"
                time.sleep(0.05)
            assert live.state.admission.stream_stats.deadline_exceeded == 1
            other = httpx.post(f"{live.url}/v1/audio/speech", json=speech("the next client."), timeout=30)
            assert other.status_code == 200
            stalled.settimeout(10)
            rest = b""
            while chunk := stalled.recv(65536):  # the server hung up: read what it had sent, up to the close
                rest += chunk
            assert not rest.endswith(b"0\r\n\r\n"), "a stream cut at its deadline must not end cleanly"
        short = {"input": "a short stream.", "response_format": "wav"}  # streamed: the endpoint's default
        streamed = httpx.post(f"{live.url}/v1/audio/speech", json=short)
        assert streamed.status_code == 200
        assert len(sf.read(io.BytesIO(streamed.content))[0]) > 0
        assert metric(live.url, "voicefleet_in_flight_requests") == 0
