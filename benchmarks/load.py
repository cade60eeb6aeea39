"""`tts-bench load`: drive a running service at a sweep of concurrencies over real HTTP."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

from benchmarks.common import SENTENCES, command_line, machine_facts, print_header, write_json
from benchmarks.http_driver import run_closed_loop


def run_load(
    url: str,
    concurrencies: list[int],
    requests_per_level: int,
    *,
    model: str,
    voice: str,
    timeout_s: float,
    warmup: int,
    out: Path,
    api_key: str | None = None,
) -> dict[str, Any]:
    facts = machine_facts()
    print_header("load", facts)
    print(f"target: {url}; {requests_per_level} requests per level after {warmup} warm-up; model={model} voice={voice}")
    if warmup:
        asyncio.run(
            run_closed_loop(
                url,
                SENTENCES,
                concurrency=1,
                total=warmup,
                model=model,
                voice=voice,
                timeout_s=timeout_s,
                api_key=api_key,
            )
        )
    levels = []
    print(
        f"{'conc':>5} {'ok':>6} {'req/s':>8} {'audio-s/s':>10} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} "
        f"{'err':>4} {'429':>4} {'503':>4} {'lost':>5}"
    )
    for concurrency in concurrencies:
        total = max(requests_per_level, concurrency)
        stats = asyncio.run(
            run_closed_loop(
                url,
                SENTENCES,
                concurrency=concurrency,
                total=total,
                model=model,
                voice=voice,
                timeout_s=timeout_s,
                api_key=api_key,
            )
        )
        row = {"concurrency": concurrency, **stats.summary()}
        levels.append(row)
        print(
            f"{concurrency:>5} {row['ok']:>6} {row['requests_per_s']:>8.2f} {row['audio_s_per_s']:>10.2f} "
            f"{_ms(row['p50_ms'])} {_ms(row['p95_ms'])} {_ms(row['p99_ms'])} "
            f"{row['errors']:>4} {row['rejected_429']:>4} {row['rejected_503']:>4} {row['lost']:>5}"
        )
        for message in row["first_errors"]:
            print(f"      e.g. {message}")
    result = {
        "kind": "load",
        "command": command_line(),
        "date": dt.date.today().isoformat(),
        "url": url,
        "machine": facts,
        "requests_per_level": requests_per_level,
        "levels": levels,
    }
    write_json(out, result)
    print(f"wrote {out}")
    return result


def _ms(value: float | None) -> str:
    return f"{value:>9.1f}" if value is not None else f"{'-':>9}"
