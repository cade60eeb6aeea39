"""`tts-bench load`: drive a running service at a sweep of concurrencies over real HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.common import machine_facts, ms_cell, print_header, result_header, write_json
from benchmarks.http_driver import HttpTarget, drive_sentences


def run_load(
    target: HttpTarget, concurrencies: list[int], requests_per_level: int, *, warmup: int, out: Path
) -> dict[str, Any]:
    facts = machine_facts()
    print_header("load", facts)
    print(
        f"target: {target.url}; {requests_per_level} requests per level after {warmup} warm-up; "
        f"model={target.model} voice={target.voice}"
    )
    if warmup:
        drive_sentences(target, concurrency=1, total=warmup)
    levels = []
    print(
        f"{'conc':>5} {'ok':>6} {'req/s':>8} {'audio-s/s':>10} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} "
        f"{'err':>4} {'429':>4} {'503':>4} {'lost':>5}"
    )
    for concurrency in concurrencies:
        total = max(requests_per_level, concurrency)
        stats = drive_sentences(target, concurrency=concurrency, total=total)
        row = {"concurrency": concurrency, **stats.figures()}
        levels.append(row)
        print(
            f"{concurrency:>5} {row['ok']:>6} {row['requests_per_s']:>8.2f} {row['audio_s_per_s']:>10.2f} "
            f"{ms_cell(row['p50_ms'])} {ms_cell(row['p95_ms'])} {ms_cell(row['p99_ms'])} "
            f"{row['errors']:>4} {row['rejected_429']:>4} {row['rejected_503']:>4} {row['lost']:>5}"
        )
        for message in row["first_errors"]:
            print(f"      e.g. {message}")
    result = {
        **result_header("load", facts),
        "url": target.url,
        "requests_per_level": requests_per_level,
        "levels": levels,
    }
    write_json(out, result)
    print(f"wrote {out}")
    return result
