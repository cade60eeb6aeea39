"""`tts-bench overhead`: the same sentences through the engine in-process and through the service over HTTP;
the added latency per request (p50, p99), the added CPU time per request, and the throughput ratio (HTTP /
in-process).

The added CPU time (server process CPU per HTTP request minus the engine's in-process CPU per request, both over the
paired requests) is what the service itself spends per request; unlike wall time, it hardly moves when other work
loads the machine (wall time then mostly measures how long each thread hop waits for a core). Only for a local
server (its pid is found from the port)."""

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
from benchmarks.probes import cpu_seconds
from benchmarks.soak import resolve_pid
from service.engines.base import Engine, SynthesisRequest


def _inproc(engine: Engine, text: str, cpu: list[float] | None = None) -> float:
    start, start_cpu = time.perf_counter(), time.process_time()
    engine.synthesize_batch([SynthesisRequest(text=text)])
    if cpu is not None:
        cpu.append(time.process_time() - start_cpu)
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
    inproc_cpu: list[float] = []
    pid = resolve_pid(target.url, None)
    before = after = None
    with httpx.Client(timeout=target.timeout_s, headers=auth_headers(target.api_key)) as client:
        _inproc(engine, SENTENCES[0])  # warm-up both paths (first-call allocations, connection setup)
        _http(client, target, SENTENCES[0])
        for _ in range(repeats):
            for text in SENTENCES:
                a = _inproc(engine, text, inproc_cpu)
                b = _http(client, target, text)
                inproc_s.append(a)
                http_s.append(b)
                added.append(b - a)
        # CPU: the same requests again, HTTP only, so the server's CPU counter (10 ms ticks) is read twice per run,
        # not twice per request: its rounding then costs under 10 ms / len(added) per request.
        if pid:
            before = cpu_seconds(pid)
            for text in [t for _ in range(repeats) for t in SENTENCES]:
                _http(client, target, text)
            after = cpu_seconds(pid)
    cpu_ms: dict[str, float] | None = None
    if before is not None and after is not None:
        inproc_ms = sum(inproc_cpu) / len(inproc_cpu) * 1000
        server_ms = (after - before) / len(added) * 1000
        cpu_ms = {
            "inprocess": round(inproc_ms, 2),
            "server": round(server_ms, 2),
            "added": round(server_ms - inproc_ms, 2),
        }
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
        "cpu_ms_per_request": cpu_ms,
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
    if cpu_ms is not None:
        print(
            f"CPU per request: server {cpu_ms['server']} ms, engine in-process {cpu_ms['inprocess']} ms, "
            f"added by the service {cpu_ms['added']} ms (means over {len(added)} requests)"
        )
    else:
        print("CPU per request: not measured (remote server)")
    print(
        f"throughput at concurrency {concurrency}: in-process {inproc_rps:.2f} req/s, HTTP "
        f"{summary['requests_per_s']:.2f} req/s, ratio {result['throughput_ratio_http_over_inprocess']}"
    )
    print(f"wrote {out}")
    return result
