"""Measure `cost-estimate` start-up: median wall time of the default run (no --live) over N runs.

Usage: python benchmarks/cli_startup.py [N] [extra cost-estimate args...]
Prints the median wall time and its range, the median CPU time (user + system: what the run itself costs, much less
sensitive than wall time to other work on a shared machine) and the load average; also checks that the heavy
modules (boto3, matplotlib, aws_cdk, torch, numpy) stay out of the default path.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time

ARGS = ["--format", "json"]
HEAVY = ("boto3", "botocore", "matplotlib", "aws_cdk", "torch", "numpy")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def once(args: list[str]) -> tuple[float, float]:
    """(wall s, CPU s) of one run."""
    cpu, start = _children_cpu(), time.perf_counter()
    subprocess.run([sys.executable, "-m", "cost.cli", *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, _children_cpu() - cpu


def heavy_imports() -> list[str]:
    code = (
        "import sys; from cost.cli import main; main(['--format', 'json']);"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return [m for m in result.stderr.strip().split(",") if m]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    variants = [sys.argv[2:]] if len(sys.argv) > 2 else [[], ARGS]
    for args in variants:
        report(args, runs)
    print(f"heavy modules imported on the default path: {heavy_imports() or 'none'}")


def report(args: list[str], runs: int) -> None:
    once(args)  # warm the filesystem cache and .pyc files
    samples = [once(args) for _ in range(runs)]
    times = [wall for wall, _ in samples]
    cpu = statistics.median(c for _, c in samples)
    baseline = [0.0] * 3
    for i in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        baseline[i] = time.perf_counter() - start
    print(
        f"cost-estimate {' '.join(args) or '(default run)'}: "
        f"median {statistics.median(times) * 1000:.0f} ms over {runs} runs "
        f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}), CPU {cpu * 1000:.0f} ms; bare interpreter "
        f"{statistics.median(baseline) * 1000:.0f} ms; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
