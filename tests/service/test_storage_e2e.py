"""S3 outage mid-load, end to end: real uvicorn, moto behind a proxy that really drops the network.

Every request with store=true gets its final key and URL; audio written during the outage is spooled, uploaded on
recovery or on drain, and survives a process restart. Nothing is lost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.fakes.harness_app import HarnessConfig, build_app
from tests.service.fakes.live_server import live_server
from tests.service.fakes.load import LoadResult, one
from tests.service.fakes.outage_proxy import OutageProxy

BUCKET = "voicefleet-outputs-e2e"


@pytest.fixture
def proxy(moto_endpoint: str, aws_client: Callable[..., Any]) -> Iterator[OutageProxy]:
    aws_client("s3").create_bucket(Bucket=BUCKET)
    p = OutageProxy(moto_endpoint)
    yield p
    p.close()


def bucket_keys(aws_client: Callable[..., Any]) -> set[str]:
    listed = aws_client("s3").list_objects_v2(Bucket=BUCKET)
    return {o["Key"] for o in listed.get("Contents", [])}


def harness_config(proxy: OutageProxy, spool: Path, flush_timeout_s: float = 20) -> HarnessConfig:
    return HarnessConfig(
        bucket=BUCKET, s3_endpoint=proxy.url, spool_dir=spool, engine_delay_s=0.01, flush_timeout_s=flush_timeout_s
    )


async def stored_burst(url: str, texts: list[str], result: LoadResult) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await asyncio.gather(*(one(client, result, {"text": t, "store": True}, {}) for t in texts))


def test_s3_outage_mid_load_every_audio_file_lands_in_the_bucket(
    proxy: OutageProxy, tmp_path: Path, aws_client: Callable[..., Any]
) -> None:
    result = LoadResult()
    app, parts = build_app(harness_config(proxy, tmp_path / "spool"))
    with live_server(app) as url:
        asyncio.run(stored_burst(url, [f"before {i}" for i in range(8)], result))
        proxy.cut()
        asyncio.run(stored_burst(url, [f"during {i}" for i in range(12)], result))
        spooled = httpx.get(f"{url}/metrics").text
        assert "voicefleet_spool_files 12.0" in spooled
        proxy.restore()
        asyncio.run(stored_burst(url, [f"after {i}" for i in range(8)], result))
    # Leaving the server drains it: the spool is flushed before the process would exit.
    bodies = [r.json() for r in result.responses]
    pending = [b for b in bodies if b["pending"]]
    print(f"\nS3 outage mid-load (HTTP): {result.summary}; spooled during the outage {len(pending)}")
    assert result.ok == 28
    assert result.lost == 0
    assert len(pending) == 12
    assert all(b["key"].startswith("audio/") and b["key"].endswith(".wav") for b in bodies)
    assert bucket_keys(aws_client) == {b["key"] for b in bodies}
    assert parts.store is not None
    assert len(parts.store.spool) == 0
    presigned = httpx.get(pending[0]["url"], timeout=10)
    assert presigned.status_code == 200  # the URL handed out while S3 was down works now
    head = aws_client("s3").head_object(Bucket=BUCKET, Key=pending[0]["key"])
    assert set(head["Metadata"]) == {"engine", "voice", "text-sha256", "duration-s"}


def test_spooled_audio_survives_a_restart_during_the_outage(
    proxy: OutageProxy, tmp_path: Path, aws_client: Callable[..., Any]
) -> None:
    spool = tmp_path / "spool"
    result = LoadResult()
    proxy.cut()
    app, _ = build_app(harness_config(proxy, spool, flush_timeout_s=0.3))
    with live_server(app) as url:
        asyncio.run(stored_burst(url, [f"doomed instance {i}" for i in range(5)], result))
    # The process is gone with S3 still down: the audio is on disk only.
    assert len(list(spool.glob("*.json"))) == 5
    assert bucket_keys(aws_client) == set()
    proxy.restore()
    app2, parts2 = build_app(harness_config(proxy, spool))
    with live_server(app2):
        deadline = time.monotonic() + 30
        while parts2.store is not None and len(parts2.store.spool) and time.monotonic() < deadline:
            time.sleep(0.05)
    keys = {r.json()["key"] for r in result.responses}
    print(f"\nS3 outage across a restart: {result.summary}; uploaded by the next process {len(keys)}")
    assert result.lost == 0
    assert bucket_keys(aws_client) == keys
