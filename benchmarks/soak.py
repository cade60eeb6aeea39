"""`tts-bench soak`: N requests at a fixed concurrency; RSS and GPU memory of the server sampled as it goes;
growth from the first to the last tenth; a loud failure when any request was lost or failed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks.common import (
    BenchError,
    BenchFailedError,
    machine_facts,
    print_header,
    result_header,
    write_json,
)
from benchmarks.http_driver import HttpTarget, drive_sentences
from benchmarks.probes import gpu_memory_bytes, pid_listening_on, rss_bytes

SAMPLES = 100  # memory samples over the run (RSS); GPU memory every 10th (nvidia-smi is slow)


def resolve_pid(url: str, pid: int | None) -> int | None:
    if pid is not None:
        if rss_bytes(pid) is None:
            raise BenchError(f"--pid {pid}: no such process (or its /proc entry is not readable)")
        return pid
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1") or parts.port is None:
        return None  # a remote server: memory cannot be sampled from here
    return pid_listening_on(parts.port)


def growth_pct(samples: list[tuple[int, int]], total: int) -> float | None:
    """Mean of the last tenth vs the first tenth (by request count), in %."""
    first = [v for n, v in samples if n <= total / 10]
    last = [v for n, v in samples if n > total * 9 / 10]
    if not first or not last:
        return None
    base = sum(first) / len(first)
    return round((sum(last) / len(last) - base) / base * 100.0, 2) if base else None


def run_soak(target: HttpTarget, total: int, concurrency: int, *, pid: int | None, out: Path) -> dict[str, Any]:
    if total < 10:
        raise BenchError(f"--requests: {total} is too few to compare tenths (use at least 10)")
    facts = machine_facts()
    print_header("soak", facts)
    url = target.url
    server_pid = resolve_pid(url, pid)
    where = f"pid {server_pid}" if server_pid else "not sampled (remote URL or pid not found; pass --pid)"
    print(f"target: {url}; {total} requests at concurrency {concurrency}; server memory: {where}")
    rss: list[tuple[int, int]] = []
    gpu: list[tuple[int, int]] = []
    step = max(1, total // SAMPLES)
    progress_every = max(1, total // 10)
    started = time.perf_counter()

    def on_done(n: int) -> None:
        if server_pid is not None and (n % step == 0 or n == 1):
            value = rss_bytes(server_pid)
            if value is not None:
                rss.append((n, value))
            if n % (step * 10) == 0 or n == 1:
                g = gpu_memory_bytes(server_pid)
                if g is not None:
                    gpu.append((n, g))
        if n % progress_every == 0:
            last_rss = f", RSS {rss[-1][1] / 2**20:.1f} MiB" if rss else ""
            print(f"  {n}/{total} done in {time.perf_counter() - started:.1f} s{last_rss}")

    stats = drive_sentences(target, concurrency=concurrency, total=total, on_done=on_done)
    summary = stats.figures()
    result: dict[str, Any] = {
        **result_header("soak", facts),
        "url": url,
        "concurrency": concurrency,
        "server_pid": server_pid,
        **summary,
        "rss_first_mib": round(rss[0][1] / 2**20, 1) if rss else None,
        "rss_last_mib": round(rss[-1][1] / 2**20, 1) if rss else None,
        "rss_growth_pct_first_to_last_tenth": growth_pct(rss, total),
        "gpu_growth_pct_first_to_last_tenth": growth_pct(gpu, total),
        "rss_samples": rss,
        "gpu_samples": gpu,
    }
    write_json(out, result)
    print(
        f"ok {summary['ok']}, rejected 429 {summary['rejected_429']} / 503 {summary['rejected_503']}, "
        f"errors {summary['errors']}, lost {summary['lost']}; {summary['requests_per_s']} req/s, "
        f"p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms"
    )
    rss = result["rss_growth_pct_first_to_last_tenth"]
    rss_text = (
        f"RSS {rss} % ({result['rss_first_mib']} -> {result['rss_last_mib']} MiB)"
        if rss is not None
        else "RSS not sampled (server pid unknown)"
    )
    print(f"memory growth first->last tenth: {rss_text}, " + _gpu_growth(result["gpu_growth_pct_first_to_last_tenth"]))
    print(f"wrote {out}")
    if summary["lost"] or summary["errors"]:
        raise BenchFailedError(
            f"SOAK FAILED: {summary['lost']} request(s) LOST and {summary['errors']} failed out of {total} "
            f"(e.g. {summary['first_errors'][:1]})"
        )
    return result


def _gpu_growth(pct: float | None) -> str:
    """'GPU x %', or why there is no figure (no GPU, or nvidia-smi gave no samples) instead of 'GPU None %'."""
    return f"GPU {pct} %" if pct is not None else "GPU not sampled (no nvidia-smi readings)"
