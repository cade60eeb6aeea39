"""Spot interruption notice mid-load, end to end: a real process, a fake IMDS, real HTTP clients.

On the notice the instance must answer /readyz 503 within one poll, refuse new work with 503 + Retry-After,
finish every admitted request, and exit 0.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.service.fakes.harness_process import HarnessProcess
from tests.service.fakes.imds import FakeImds
from tests.service.fakes.load import LoadResult, closed_loop


@pytest.fixture
def imds() -> Iterator[FakeImds]:
    server = FakeImds()
    yield server
    server.close()


def test_spot_notice_mid_load_loses_no_admitted_request_and_exits_cleanly(imds: FakeImds) -> None:
    harness = HarnessProcess({"HARNESS_IMDS": imds.url, "HARNESS_SPOT_INTERVAL": "0.2", "HARNESS_ENGINE_DELAY": "0.05"})
    try:
        harness.wait_ready()
        readiness: dict[str, int] = {}

        async def scenario() -> LoadResult:
            load = asyncio.create_task(
                closed_loop(harness.url, clients=6, body=lambda i: {"text": f"spot load {i}"}, max_requests=2000)
            )
            async with httpx.AsyncClient(base_url=harness.url, timeout=5) as client:
                while (await client.get("/metrics")).text.count("voicefleet_batch_size_count 0.0"):
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.3)  # well into the load
                readiness["gets_at_notice"] = imds.action_gets
                imds.announce("terminate", "2026-03-14T10:02:00Z")
                while True:
                    ready = await client.get("/readyz")
                    if ready.status_code == 503:
                        readiness["gets_at_503"] = imds.action_gets
                        assert "spot interruption notice (terminate" in ready.json()["reason"]
                        break
                    await asyncio.sleep(0.01)
            return await load

        result = asyncio.run(scenario())
        code, log = harness.wait_exit()
    finally:
        harness.kill()
    events = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    seen_by_app = {e.get("request_id") for e in events if e.get("event") == "request"}
    # A request whose connection closed without a response was lost only if the app had taken it.
    lost = result.lost + sum(1 for rid in result.unanswered if rid in seen_by_app)
    print(f"\nSpot notice mid-load: {result.summary}; of those closed, seen by the app: {lost - result.lost}")
    assert code == 0, log[-3000:]
    assert lost == 0, result.errors
    assert result.ok > 0
    assert result.rejected[503] > 0
    # The notice was seen by the first poll after it appeared (the poll in progress may have read "no notice").
    assert readiness["gets_at_503"] - readiness["gets_at_notice"] <= 2
    drained = next(e for e in events if e.get("event") == "drained")
    assert drained["unfinished"] == 0
    served = [e for e in events if e.get("event") == "request" and e["route"] == "/v1/speak" and e["status"] == 200]
    assert len(served) == result.ok
