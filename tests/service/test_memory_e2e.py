"""Graceful recycle as a real process: after N requests (or POST /admin/restart) it stops admitting, finishes
everything admitted, and exits 0 so systemd starts a fresh one."""

from __future__ import annotations

import asyncio
import json

import httpx

from tests.service.fakes.harness_process import HarnessProcess
from tests.service.fakes.load import LoadResult, one

ADMIN = "k-admin-0123456789abcdef"
CLIENT = "k-client-0123456789abcdef"


async def burst(url: str, n: int, headers: dict[str, str]) -> LoadResult:
    result = LoadResult()
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await asyncio.gather(*(one(client, result, {"text": f"recycle {i}"}, headers) for i in range(n)))
    return result


def test_recycle_after_n_requests_finishes_in_flight_work_and_exits_0() -> None:
    harness = HarnessProcess(
        {"HARNESS_RECYCLE_AFTER": "10", "HARNESS_ENGINE_DELAY": "0.03", "HARNESS_MAX_BATCH": "1",
         "HARNESS_MAX_CONCURRENCY": "1"}
    )  # fmt: skip
    try:
        harness.wait_ready()
        result = asyncio.run(burst(harness.url, 16, {}))  # all 16 admitted before the 10th finishes
        code, log = harness.wait_exit()
    finally:
        harness.kill()
    print(f"\nrecycle after 10 requests: {result.summary}")
    assert code == 0, log[-3000:]
    assert result.ok == 16
    assert result.lost == 0
    events = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    recycle = next(e for e in events if e.get("event") == "recycle")
    assert recycle["reason"] == "served 10 requests (recycle_after_requests=10)"
    assert next(e for e in events if e.get("event") == "drained")["unfinished"] == 0


def test_admin_restart_needs_the_admin_key_then_drains_and_exits_0() -> None:
    harness = HarnessProcess({"HARNESS_API_KEYS": CLIENT, "HARNESS_ADMIN_KEY": ADMIN})
    try:
        harness.wait_ready()
        client_auth = {"Authorization": f"Bearer {CLIENT}"}
        assert httpx.post(f"{harness.url}/admin/restart", headers=client_auth).status_code == 403
        assert httpx.post(f"{harness.url}/v1/speak", json={"text": "still up"}, headers=client_auth).status_code == 200
        restart = httpx.post(f"{harness.url}/admin/restart", headers={"x-api-key": ADMIN})
        assert restart.status_code == 200
        code, log = harness.wait_exit()
    finally:
        harness.kill()
    assert code == 0, log[-3000:]
    assert '"reason": "admin restart"' in log
