"""`tts-bench overhead`: the same sentences through the engine in-process and through the service over HTTP;
the added latency per request (p50, p99) and the throughput ratio (HTTP / in-process)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import (
    SENTENCES,
    BenchFailedError,
    command_line,
    machine_facts,
    percentiles_ms,
    print_header,
    wav_seconds,
    write_json,
)
from benchmarks.engines import build_engine
from benchmarks.http_driver import HttpTarget, auth_headers, drive_sentences, speech_payload
from service.engines.base import Engine, SynthesisRequest


def _inproc(engine: Engine, text: str) -> float:
    start = time.perf_counter()
    engine.synthesize_batch([SynthesisRequest(text=text)])
    return time.perf_counter() - start


def _http(client: httpx.Client, target: HttpTarget, text: str) -> float:
    start = time.perf_counter()
    response = client.post(f"{target.url}/v1/audio/speech", json=speech_payload(text, target.model, target.voice))
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise BenchFailedError(f"HTTP {response.status_code} for {text!r}: {response.text[:200]}")
    wav_seconds(response.content)  # it must be real audio, not just a 200
    return elapsed


def run_overhead(
    target: HttpTarget,
    *,
    engine_name: str,
    preset: str,
    device: str,
    fp16: bool,
    model_dir: Path | None,
    repeats: int,
    concurrency: int,
    out: Path,
) -> dict[str, Any]:
    target = dataclasses.replace(target, url=target.url.rstrip("/"))
    facts = machine_facts()
    print_header("overhead", facts)
    engine = build_engine(engine_name, preset=preset, device=device, fp16=fp16, model_dir=model_dir)
    print(f"target: {target.url}; in-process engine: {engine_name}; {len(SENTENCES)} sentences x {repeats} repeats")
    added: list[float] = []
    inproc_s: list[float] = []
    http_s: list[float] = []
    with httpx.Client(timeout=target.timeout_s, headers=auth_headers(target.api_key)) as client:
        _inproc(engine, SENTENCES[0])  # warm-up both paths (first-call allocations, connection setup)
        _http(client, target, SENTENCES[0])
        for _ in range(repeats):
            for text in SENTENCES:
                a = _inproc(engine, text)
                b = _http(client, target, text)
                inproc_s.append(a)
                http_s.append(b)
                added.append(b - a)
    # Throughput at `concurrency`: the same request count both ways.
    total = concurrency * len(SENTENCES) * repeats
    requests = [SENTENCES[i % len(SENTENCES)] for i in range(total)]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(lambda text: _inproc(engine, text), requests))
    inproc_rps = total / (time.perf_counter() - start)
    stats = drive_sentences(target, concurrency=concurrency, total=total)
    summary = stats.figures()
    if summary["ok"] != total:
        raise BenchFailedError(f"only {summary['ok']} of {total} HTTP requests succeeded: {summary['first_errors']}")
    result: dict[str, Any] = {
        "kind": "overhead",
        "command": command_line(),
        "date": dt.date.today().isoformat(),
        "url": target.url,
        "machine": facts,
        "engine": engine_name,
        "pairs": len(added),
        "inprocess": percentiles_ms(inproc_s),
        "http": percentiles_ms(http_s),
        "added": percentiles_ms(added),
        "concurrency": concurrency,
        "inprocess_requests_per_s": round(inproc_rps, 3),
        "http_requests_per_s": summary["requests_per_s"],
        "throughput_ratio_http_over_inprocess": round(summary["requests_per_s"] / inproc_rps, 3),
    }
    engine.close()
    write_json(out, result)
    print(
        f"latency p50/p99 ms: in-process {result['inprocess']['p50_ms']}/{result['inprocess']['p99_ms']}, "
        f"HTTP {result['http']['p50_ms']}/{result['http']['p99_ms']}"
    )
    print(
        f"added by HTTP per request: p50 {result['added']['p50_ms']} ms, p99 {result['added']['p99_ms']} ms "
        f"({len(added)} paired requests)"
    )
    print(
        f"throughput at concurrency {concurrency}: in-process {inproc_rps:.2f} req/s, HTTP "
        f"{summary['requests_per_s']:.2f} req/s, ratio {result['throughput_ratio_http_over_inprocess']}"
    )
    print(f"wrote {out}")
    return result
