"""Admission, batching, OOM and metrics through a real uvicorn on loopback (the harness app wires the part-2 parts)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import soundfile as sf

from service.admission import AdmissionSettings
from tests.service.fakes.batch_engine import SAMPLE_RATE, tone
from tests.service.fakes.harness_app import HarnessConfig, Parts, build_app
from tests.service.fakes.live_server import live_server
from tests.service.fakes.load import LoadResult, one

KEY = "k-client-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def harness(request: pytest.FixtureRequest) -> Iterator[tuple[str, Parts]]:
    cfg: HarnessConfig = getattr(request, "param", HarnessConfig(api_keys=[KEY]))
    app, parts = build_app(cfg)
    with live_server(app) as url:
        yield url, parts


async def burst(url: str, n: int) -> LoadResult:
    result = LoadResult()
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await asyncio.gather(*(one(client, result, {"text": f"burst {i:03d}"}, AUTH) for i in range(n)))
    return result


def metric(url: str, name: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


SMALL_QUEUE = HarnessConfig(
    api_keys=[KEY], engine_delay_s=0.05, admission=AdmissionSettings(max_queue=4, max_concurrency=1, max_batch=1)
)


@pytest.mark.parametrize("harness", [SMALL_QUEUE], indirect=True)
def test_queue_full_gives_429_with_retry_after_while_every_admitted_request_succeeds(
    harness: tuple[str, Parts],
) -> None:
    url, parts = harness
    result = asyncio.run(burst(url, 20))
    print(f"\n429 burst: {result.summary}")
    assert result.lost == 0
    assert result.rejected[429] > 0
    assert result.ok + result.rejected[429] == 20
    assert result.ok == parts.admission.stats.completed
    for response in result.responses:
        if response.status_code == 429:
            assert int(response.headers["retry-after"]) >= 1
            assert response.json()["error"]["code"] == "queue_full"
        else:
            audio, rate = sf.read(io.BytesIO(response.content))
            assert rate == SAMPLE_RATE
            assert len(audio) == len(tone("burst 000"))
    assert metric(url, 'voicefleet_admission_rejected_total{reason="queue_full"}') == result.rejected[429]


BATCHING = HarnessConfig(
    api_keys=[KEY], engine_delay_s=0.05, admission=AdmissionSettings(max_batch=8, max_concurrency=8, max_wait_ms=20)
)


@pytest.mark.parametrize("harness", [BATCHING], indirect=True)
def test_concurrent_load_is_batched_and_health_answers_while_the_engine_is_busy(harness: tuple[str, Parts]) -> None:
    url, parts = harness
    parts.engine.gate.clear()

    async def scenario() -> LoadResult:
        task = asyncio.create_task(burst(url, 24))
        for _ in range(500):
            if parts.engine.active == 1:
                break
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            # The engine thread is blocked mid-batch; the event loop still answers.
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/metrics")).status_code == 200
            assert parts.engine.active == 1
        parts.engine.gate.set()
        return await task

    result = asyncio.run(scenario())
    assert result.ok == 24
    assert parts.admission.stats.max_batch_seen > 1
    count = metric(url, "voicefleet_batch_size_count")
    assert metric(url, "voicefleet_batch_size_sum") / count > 1
    assert metric(url, "voicefleet_queue_wait_seconds_count") == 24
    assert metric(url, "voicefleet_audio_generated_seconds_total") > 0
    assert metric(url, 'voicefleet_http_requests_total{method="POST",route="/v1/speak",status="200"}') == 24


OOM = HarnessConfig(api_keys=[KEY], admission=AdmissionSettings(oom_retry_alone=False))


@pytest.mark.parametrize("harness", [OOM], indirect=True)
def test_cuda_oom_gives_503_then_the_service_recovers(harness: tuple[str, Parts]) -> None:
    url, parts = harness
    parts.engine.oom_next_calls = 1
    failed = httpx.post(f"{url}/v1/speak", json={"text": "too long for the GPU"}, headers=AUTH)
    assert failed.status_code == 503
    assert failed.headers["retry-after"] == "5"
    assert failed.json()["error"]["code"] == "engine_out_of_memory"
    assert httpx.get(f"{url}/readyz").status_code == 200
    ok = httpx.post(f"{url}/v1/speak", json={"text": "fine now"}, headers=AUTH)
    assert ok.status_code == 200
    assert metric(url, "voicefleet_engine_oom_total") == 1


def test_request_ids_auth_and_structured_logs(harness: tuple[str, Parts], caplog: pytest.LogCaptureFixture) -> None:
    from service.logging import JsonFormatter

    url, _parts = harness
    caplog.set_level("INFO", logger="voicefleet.access")
    denied = httpx.post(f"{url}/v1/speak", json={"text": "hi"})
    assert denied.status_code == 401
    generated = denied.headers["x-request-id"]
    assert len(generated) == 32
    mine = httpx.post(f"{url}/v1/speak", json={"text": "hi"}, headers={**AUTH, "X-Request-ID": "client-id-42"})
    assert mine.headers["x-request-id"] == "client-id-42"
    hostile = httpx.post(f"{url}/v1/speak", json={"text": "hi"}, headers={**AUTH, "X-Request-ID": "a\tb" * 40})
    assert hostile.headers["x-request-id"] != "a\tb" * 40  # not echoed into headers and logs
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "voicefleet.access"]
    by_id: dict[str, Any] = {line.get("request_id"): line for line in lines}
    assert by_id["client-id-42"]["route"] == "/v1/speak"
    assert by_id["client-id-42"]["status"] == 200
    assert by_id[generated]["status"] == 401
