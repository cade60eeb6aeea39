"""Regression (found by `tts-bench drill recycle`): a SIGTERM that arrives while a drain is already under way (a
recycle, an admin restart or a Spot notice) is the first signal, so it must let that drain finish and the process
exit 0 — not be treated as the "second signal" that exits at once (uvicorn re-raised it: exit code -15)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx

from benchmarks.drills.serve_process import TtsServe, event
from benchmarks.http_driver import Tally, send, speech

ADMIN = "k-admin-0123456789abcdef"
CLIENT = "k-client-0123456789abcdef"


def test_sigterm_during_an_admin_restart_drain_lets_the_drain_finish_and_exits_0(tmp_path: Path) -> None:
    serve = TtsServe(
        {"TTS_API_KEYS": CLIENT, "TTS_ADMIN_KEY": ADMIN, "TTS_FAULT_DELAY_MS": "300", "TTS_MAX_CONCURRENCY": "1"},
        tmp_path,
    )
    auth = {"Authorization": f"Bearer {CLIENT}"}

    async def scenario() -> Tally:
        result = Tally()
        async with httpx.AsyncClient(base_url=serve.url, timeout=30) as client:
            burst = asyncio.gather(*(send(client, result, speech(f"in flight {i}."), headers=auth) for i in range(3)))
            while "voicefleet_in_flight_requests 0.0" in (await client.get("/metrics")).text:
                await asyncio.sleep(0.02)
            restart = await client.post("/admin/restart", headers={"Authorization": f"Bearer {ADMIN}"})
            assert restart.status_code == 202
            serve.proc.send_signal(signal.SIGTERM)  # e.g. systemd stopping the unit mid-drain
            await burst
        return result

    try:
        serve.wait_ready()
        result = asyncio.run(scenario())
        code, events = serve.wait_exit()
    finally:
        serve.kill()
    assert code == 0, [e.get("message") for e in events][-10:]
    assert result.served == 3, result.errors
    assert result.lost == 0
    assert event(events, "shutdown")["reason"] == "admin restart"
    assert event(events, "drained")["unfinished"] == 0
