"""`tts-bench streams`: streamed requests at a sweep of concurrencies: time to first audio and throughput.

What a listener feels is the first audio (queueing included), then audio faster than real time; this drives
`/v1/audio/speech` streams (pcm, OpenAI's default streaming) closed-loop and prints, per concurrency: requests/s,
audio seconds per second, time to first audio p50/p95, whole-stream p50/p95, and the slowest stream's real-time
factor (stream time over audio time: below 1 keeps up with playback), plus 429/503/errors.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import (
    machine_facts,
    ms_cell,
    percentiles_ms,
    print_header,
    result_header,
    write_json,
)
from benchmarks.http_driver import HttpTarget, auth_headers
from service.audio.deliver import PCM_RATE  # the service's pcm: 24 kHz 16-bit mono


@dataclass
class StreamLevel:
    concurrency: int
    first_audio_s: list[float] = field(default_factory=list)
    total_s: list[float] = field(default_factory=list)
    audio_s: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        ok = len(self.total_s)
        rtf = [t / a for t, a in zip(self.total_s, self.audio_s, strict=True) if a > 0]
        return {
            "concurrency": self.concurrency,
            "ok": ok,
            "requests_per_s": ok / self.wall_s if self.wall_s else 0.0,
            "audio_s_per_s": sum(self.audio_s) / self.wall_s if self.wall_s else 0.0,
            "first_audio_ms": percentiles_ms(self.first_audio_s),
            "stream_ms": percentiles_ms(self.total_s),
            "worst_stream_rtf": max(rtf) if rtf else None,
            "statuses": dict(sorted(self.statuses.items())),
            "first_errors": self.errors[:3],
        }


async def _one(client: httpx.AsyncClient, target: HttpTarget, text: str, level: StreamLevel) -> None:
    body = {"model": target.model, "input": text, "voice": target.voice, "response_format": "pcm"}
    start = time.perf_counter()
    first: float | None = None
    size = 0
    try:
        async with client.stream("POST", f"{target.url}/v1/audio/speech", json=body) as response:
            level.statuses[response.status_code] = level.statuses.get(response.status_code, 0) + 1
            if response.status_code != 200:
                level.errors.append(f"HTTP {response.status_code}: {(await response.aread())[:200]!r}")
                return
            async for chunk in response.aiter_bytes():
                if chunk and first is None:
                    first = time.perf_counter() - start
                size += len(chunk)
    except httpx.HTTPError as exc:
        level.errors.append(f"{type(exc).__name__}: {exc}")
        return
    if first is None:
        level.errors.append("200 without audio")
        return
    level.first_audio_s.append(first)
    level.total_s.append(time.perf_counter() - start)
    level.audio_s.append(size / 2 / PCM_RATE)


async def _level(target: HttpTarget, texts: list[str], concurrency: int, total: int) -> StreamLevel:
    level = StreamLevel(concurrency)
    queue = list(range(total))
    timeout = httpx.Timeout(target.timeout_s)
    async with httpx.AsyncClient(timeout=timeout, headers=auth_headers(target.api_key)) as client:

        async def worker() -> None:
            while queue:
                i = queue.pop()
                await _one(client, target, texts[i % len(texts)], level)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        level.wall_s = time.perf_counter() - start
    return level


def run_streams(
    target: HttpTarget, concurrencies: list[int], per_level: int, *, texts: list[str], out: Path
) -> dict[str, Any]:
    facts = machine_facts()
    print_header("streams", facts)
    print(f"target: {target.url}; {per_level} streams per level (at least one per client); voice={target.voice}")
    print(f"texts: {texts}")
    asyncio.run(_level(target, texts, 1, 1))  # warm-up
    print(
        f"{'conc':>5} {'ok':>4} {'req/s':>7} {'audio-s/s':>10} {'TTFA p50':>9} {'TTFA p95':>9} "
        f"{'all p50':>9} {'all p95':>9} {'worst RTF':>9}  statuses"
    )
    levels = []
    for concurrency in concurrencies:
        row = asyncio.run(_level(target, texts, concurrency, max(per_level, concurrency))).summary()
        levels.append(row)
        first, whole = row["first_audio_ms"], row["stream_ms"]
        worst = f"{row['worst_stream_rtf']:>9.2f}" if row["worst_stream_rtf"] is not None else f"{'-':>9}"
        print(
            f"{concurrency:>5} {row['ok']:>4} {row['requests_per_s']:>7.3f} {row['audio_s_per_s']:>10.2f} "
            f"{ms_cell(first['p50_ms'])} {ms_cell(first['p95_ms'])} "
            f"{ms_cell(whole['p50_ms'])} {ms_cell(whole['p95_ms'])} "
            f"{worst}  {row['statuses']}"
        )
        for message in row["first_errors"]:
            print(f"      e.g. {message}")
    result = {
        **result_header("streams", facts),
        "url": target.url,
        "texts": texts,
        "levels": levels,
    }
    write_json(out, result)
    print(f"wrote {out}")
    return result
