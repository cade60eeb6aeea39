"""Measure `cost-estimate` start-up: median wall time of the default run (no --live) over N runs.

Usage: python benchmarks/cli_startup.py [N] [extra cost-estimate args...]
Prints the median and the range; also checks that boto3, matplotlib and aws_cdk stay out of the default path.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

ARGS = ["--format", "json"]


def once(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cost.cli", *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def heavy_imports() -> list[str]:
    code = (
        "import sys; from cost.cli import main; main(['--format', 'json']);"
        "print(','.join(m for m in ('boto3', 'matplotlib', 'aws_cdk') if m in sys.modules), file=sys.stderr)"
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
    times = [once(args) for _ in range(runs)]
    baseline = [0.0] * 3
    for i in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        baseline[i] = time.perf_counter() - start
    print(
        f"cost-estimate {' '.join(args) or '(default run)'}: "
        f"median {statistics.median(times) * 1000:.0f} ms over {runs} runs "
        f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); bare interpreter "
        f"{statistics.median(baseline) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
