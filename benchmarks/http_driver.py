"""A closed-loop HTTP driver: `concurrency` workers POST /v1/audio/speech back to back until `total` are sent.

Every request ends in exactly one bucket, so nothing can go missing silently:
ok (200 + decodable audio), rejected (429/503: explicit back-pressure), error (other 4xx, or 200 that is not audio),
lost (no response at all, or a 5xx other than 503: the server took the request and did not serve it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from benchmarks.common import SENTENCES, percentiles_ms, wav_seconds


@dataclass(frozen=True)
class HttpTarget:
    """The service the HTTP benchmarks drive and the request fields they send it."""

    url: str
    model: str
    voice: str
    timeout_s: float
    api_key: str | None = None


@dataclass(frozen=True)
class Outcome:
    status: int | None  # None: no HTTP response
    latency_s: float
    audio_s: float = 0.0
    error: str | None = None

    @property
    def bucket(self) -> str:
        if self.status is None:
            return "lost"
        if self.status == 200:
            return "ok" if self.error is None else "error"
        if self.status in (429, 503):
            return "rejected"
        return "lost" if self.status >= 500 else "error"


@dataclass
class RunStats:
    """Counts and figures of one closed-loop run."""

    sent: int
    wall_s: float
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, bucket: str) -> int:
        return sum(1 for o in self.outcomes if o.bucket == bucket)

    def summary(self) -> dict[str, Any]:
        ok = [o for o in self.outcomes if o.bucket == "ok"]
        audio = sum(o.audio_s for o in ok)
        wall = self.wall_s or float("nan")
        errors = [o for o in self.outcomes if o.bucket in ("error", "lost") and o.error]
        return {
            "sent": self.sent,
            "ok": len(ok),
            "rejected_429": sum(1 for o in self.outcomes if o.status == 429),
            "rejected_503": sum(1 for o in self.outcomes if o.status == 503),
            "errors": self.count("error"),
            "lost": self.count("lost") + (self.sent - len(self.outcomes)),
            "wall_s": round(self.wall_s, 3),
            "requests_per_s": round(len(ok) / wall, 3),
            "audio_s_per_s": round(audio / wall, 3),
            "audio_s_total": round(audio, 3),
            **percentiles_ms([o.latency_s for o in ok]),
            "first_errors": sorted({o.error or "" for o in errors})[:5],
        }


def auth_headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def speech_payload(text: str, model: str, voice: str) -> dict[str, str | bool]:
    """A whole-WAV request (the endpoint streams unless told otherwise): latency here is to the last byte."""
    return {"model": model, "input": text, "voice": voice, "response_format": "wav", "stream": False}


async def post_speech(client: httpx.AsyncClient, url: str, payload: dict[str, str | bool]) -> Outcome:
    start = time.perf_counter()
    try:
        response = await client.post(f"{url}/v1/audio/speech", json=payload)
    except httpx.HTTPError as exc:
        return Outcome(None, time.perf_counter() - start, error=f"{type(exc).__name__}: {exc}")
    latency = time.perf_counter() - start
    if response.status_code != 200:
        return Outcome(response.status_code, latency, error=f"HTTP {response.status_code}: {response.text[:200]}")
    try:
        seconds = wav_seconds(response.content)
    except ValueError as exc:
        return Outcome(200, latency, error=str(exc))
    if seconds <= 0:
        return Outcome(200, latency, error="response audio is empty")
    return Outcome(200, latency, seconds)


async def run_closed_loop(
    target: HttpTarget,
    texts: Sequence[str],
    *,
    concurrency: int,
    total: int,
    on_done: Callable[[int], None] | None = None,
) -> RunStats:
    """Send `total` requests with `concurrency` in flight; `on_done(n_finished)` runs after each one."""
    url = target.url.rstrip("/")
    next_index = 0
    stats = RunStats(sent=0, wall_s=0.0)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal next_index
        while next_index < total:
            i = next_index
            next_index += 1
            stats.sent += 1
            payload = speech_payload(texts[i % len(texts)], target.model, target.voice)
            outcome = await post_speech(client, url, payload)
            stats.outcomes.append(outcome)
            if on_done is not None:
                on_done(len(stats.outcomes))

    headers = auth_headers(target.api_key)
    async with httpx.AsyncClient(timeout=target.timeout_s, limits=limits, headers=headers) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        stats.wall_s = time.perf_counter() - start
    return stats


def drive_sentences(
    target: HttpTarget, *, concurrency: int, total: int, on_done: Callable[[int], None] | None = None
) -> RunStats:
    """`run_closed_loop` over the benchmark sentences, from synchronous code."""
    return asyncio.run(run_closed_loop(target, SENTENCES, concurrency=concurrency, total=total, on_done=on_done))
