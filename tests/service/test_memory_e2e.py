"""Graceful recycle of the real `tts-serve` process: after N requests (or POST /admin/restart) it stops admitting,
finishes everything admitted, flushes, and exits 0 so systemd starts a fresh one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from benchmarks.drills.serve_process import TtsServe, event
from benchmarks.http_driver import Tally, send, speech

ADMIN = "k-admin-0123456789abcdef"
CLIENT = "k-client-0123456789abcdef"


async def burst(url: str, n: int, headers: dict[str, str]) -> Tally:
    result = Tally()
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await asyncio.gather(*(send(client, result, speech(f"recycle number {i}."), headers=headers) for i in range(n)))
    return result


def test_recycle_after_n_requests_finishes_in_flight_work_and_exits_0(tmp_path: Path) -> None:
    # espeak slowed to 30 ms a call, so most of the 16 are admitted before the 10th finishes.
    serve = TtsServe(
        {"TTS_RECYCLE_AFTER_REQUESTS": "10", "TTS_FAULT_DELAY_MS": "30", "TTS_MAX_CONCURRENCY": "1"}, tmp_path
    )
    try:
        serve.wait_ready()
        result = asyncio.run(burst(serve.url, 16, {}))
        code, events = serve.wait_exit()
    finally:
        serve.kill()
    print(f"\nrecycle after 10 requests: {result.describe()}")
    assert code == 0, events[-10:]
    assert result.lost == 0, result.errors
    assert result.served >= 10
    assert result.served + result.rejected[503] == 16  # anything after the recycle began was refused, never dropped
    assert event(events, "recycle")["reason"] == "served 10 requests (recycle_after_requests=10)"
    assert event(events, "drained")["unfinished"] == 0
    served = [e for e in events if e.get("event") == "request" and e.get("status") == 200]
    assert len(served) == result.served


def test_admin_restart_needs_the_admin_key_then_drains_and_exits_0(tmp_path: Path) -> None:
    serve = TtsServe({"TTS_API_KEYS": CLIENT, "TTS_ADMIN_KEY": ADMIN}, tmp_path)
    try:
        serve.wait_ready()
        client_auth = {"Authorization": f"Bearer {CLIENT}"}
        refused = httpx.post(f"{serve.url}/admin/restart", headers=client_auth)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "not_admin"
        still_up = httpx.post(f"{serve.url}/v1/audio/speech", json=speech("still up."), headers=client_auth)
        assert still_up.status_code == 200
        restart = httpx.post(f"{serve.url}/admin/restart", headers={"x-api-key": ADMIN})
        assert restart.status_code == 202
        assert restart.json() == {"status": "draining"}
        code, events = serve.wait_exit()
    finally:
        serve.kill()
    assert code == 0, events[-10:]
    assert event(events, "shutdown")["reason"] == "admin restart"
    assert event(events, "drained")["unfinished"] == 0
