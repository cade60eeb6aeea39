"""`tts-bench drill spot|s3|oom|recycle|all`: run the drills, print admitted / rejected / lost per drill, write JSON,
and fail (exit 1) when anything was lost or a drill's own checks did not hold."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import BenchError, BenchFailedError, command_line, machine_facts, print_header, write_json
from benchmarks.drills.scenarios import DRILLS, DrillReport, DrillSize

COLUMNS = {
    "sent": "sent",
    "admitted": "admitted",
    "rejected_429": "rejected 429",
    "rejected_503": "rejected 503",
    "refused_connection": "conn refused",
    "unread_not_taken": "closed unread",
    "lost": "lost",
}


def parse_drills(name: str) -> list[str]:
    if name == "all":
        return list(DRILLS)
    if name not in DRILLS:
        raise BenchError(f"drill: unknown drill '{name}' (use one of: {', '.join(DRILLS)}, all)")
    return [name]


def run_drills(names: list[str], size: DrillSize, out: Path) -> list[DrillReport]:
    if size.clients < 1 or size.requests < 4:
        raise BenchError("--clients must be >= 1 and --requests >= 4 (a drill needs load before and after its fault)")
    facts = machine_facts()
    print_header("drill", facts)
    print(f"drills: {', '.join(names)}; {size.clients} clients, {size.requests} requests to serve per drill (espeak)")
    reports: list[tuple[DrillReport, float]] = []
    for name in names:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"tts-drill-{name}-") as tmp:
            report = DRILLS[name](size, Path(tmp))
        reports.append((report, time.perf_counter() - started))
    print(f"{'drill':<8} " + " ".join(f"{label:>13}" for label in COLUMNS.values()) + "   checks")
    for report, seconds in reports:
        cells = " ".join(f"{report.counts[c]:>13}" for c in COLUMNS)
        failed = [name for name, ok in report.checks.items() if not ok]
        print(f"{report.name:<8} {cells}   {'ok' if not failed else 'FAILED: ' + '; '.join(failed)} ({seconds:.1f} s)")
        print(f"         {report.facts}")
        for message in report.counts["first_errors"]:
            print(f"         e.g. {message}")
    result: dict[str, Any] = {
        "kind": "drill",
        "command": command_line(),
        "date": dt.date.today().isoformat(),
        "machine": facts,
        "clients": size.clients,
        "requests": size.requests,
        "drills": [
            {"name": r.name, **r.counts, "checks": r.checks, "facts": r.facts, "seconds": round(s, 1)}
            for r, s in reports
        ],
    }
    write_json(out, result)
    print(f"wrote {out}")
    bad = [r for r, _ in reports if not r.passed]
    if bad:
        lost = sum(r.counts["lost"] for r in bad)
        raise BenchFailedError(f"DRILL FAILED: {', '.join(r.name for r in bad)} ({lost} request(s) LOST)")
    return [r for r, _ in reports]
