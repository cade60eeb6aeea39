"""Spot interruption notice mid-load, end to end: the real `tts-serve` process, a fake IMDS, real HTTP clients.

On the notice the instance must answer /readyz 503 within one poll, refuse new work with 503 + Retry-After,
finish every admitted request, and exit 0.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from benchmarks.drills.imds import FakeImds
from benchmarks.drills.serve_process import TtsServe, event
from benchmarks.http_driver import Tally, closed_loop, speech
from tests.service.conftest import live_server, make_settings


@pytest.fixture
def imds() -> Iterator[FakeImds]:
    server = FakeImds()
    yield server
    server.close()


def test_spot_notice_mid_load_loses_no_admitted_request_and_exits_cleanly(imds: FakeImds, tmp_path: Path) -> None:
    serve = TtsServe(
        {
            "TTS_SPOT_WATCH": "true",
            "TTS_IMDS_ENDPOINT": imds.url,
            "TTS_SPOT_POLL_S": "0.2",
            "TTS_FAULT_DELAY_MS": "50",  # espeak made GPU-slow, so requests are queued when the notice comes
        },
        tmp_path,
    )
    try:
        serve.wait_ready()
        readiness: dict[str, int] = {}

        async def scenario() -> Tally:
            load = asyncio.create_task(
                closed_loop(
                    serve.url,
                    clients=6,
                    body=lambda i: speech(f"spot load {i}."),
                    max_requests=2000,
                    on_reject="stop",  # a client turned away goes elsewhere (the ALB sends it to another instance)
                )
            )
            async with httpx.AsyncClient(base_url=serve.url, timeout=5) as client:
                while "voicefleet_batch_size_count 0.0" in (await client.get("/metrics")).text:
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
        code, events = serve.wait_exit()
    finally:
        serve.kill()
    seen_by_app = {e.get("request_id") for e in events if e.get("event") == "request"}
    # A request whose connection closed without a response was lost only if the app had taken it.
    lost = result.lost + sum(1 for rid in result.unread if rid in seen_by_app)
    print(f"\nSpot notice mid-load: {result.describe()}; of those closed, seen by the app: {lost - result.lost}")
    assert code == 0, events[-10:]
    assert lost == 0, result.errors
    assert result.served > 0
    assert result.rejected[503] > 0
    # The notice was seen by the first poll after it appeared (the poll in progress may have read "no notice").
    assert readiness["gets_at_503"] - readiness["gets_at_notice"] <= 2
    assert event(events, "spot_notice")["action"] == "terminate"
    assert event(events, "drained")["unfinished"] == 0
    served = [e for e in events if e.get("event") == "request" and e["route"] == "/v1/audio/speech"]
    assert sum(1 for e in served if e["status"] == 200) == result.served
    assert sum(1 for e in served if e["status"] == 503) == result.rejected[503]


def test_a_notice_is_counted_turns_readiness_503_and_stops_the_idle_server(imds: FakeImds, tmp_path: Path) -> None:
    settings = make_settings(voices_dir=tmp_path, spot_watch=True, imds_endpoint=imds.url, spot_poll_s=0.1)
    with live_server(settings) as live:
        assert httpx.get(f"{live.url}/readyz").status_code == 200
        imds.announce("stop", "2026-03-14T10:02:00Z")
        assert live.wait_stopped(), "the notice did not drain and stop the server"
        body, _ = live.state.metrics.render()
    text = body.decode()
    assert "voicefleet_spot_interruption_notices_total 1.0" in text
    assert "voicefleet_ready 0.0" in text
    assert live.state.status == "draining"
    assert live.state.admission.drain_reason.startswith("spot interruption notice (stop at 2026-03-14T10:02:00Z)")
