"""`tts-bench`: load, overhead, soak, calibrate and roofline — each prints the exact command, machine facts and
its figures, and writes them as JSON (default under benchmarks/results/, which git ignores)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from benchmarks.common import BenchError, BenchFailedError, default_out, parse_concurrencies

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)

Url = Annotated[str, typer.Option(help="Base URL of a running service, e.g. http://127.0.0.1:8000")]
Model = Annotated[str, typer.Option(help="'model' field of each request")]
Voice = Annotated[str, typer.Option(help="'voice' field of each request")]
Timeout = Annotated[float, typer.Option(help="Per-request timeout in seconds")]
Out = Annotated[Path | None, typer.Option(help="JSON output file (default benchmarks/results/<kind>-<time>.json)")]
EngineName = Annotated[str, typer.Option("--engine", help="In-process engine: loadmodel, espeak or cosyvoice3")]
Preset = Annotated[str, typer.Option(help="loadmodel size: tiny (CPU tests) or full (~0.5B LLM, GPUs)")]
Device = Annotated[str, typer.Option(help="cpu, cuda or cuda:N")]
Fp16 = Annotated[bool, typer.Option("--fp16/--fp32", help="Precision of GPU engines")]
ModelDir = Annotated[Path | None, typer.Option(help="CosyVoice3 weights directory (engine cosyvoice3)")]


@app.command()
def load(
    url: Url = "http://127.0.0.1:8000",
    concurrency: Annotated[str, typer.Option(help="Comma-separated sweep")] = "1,2,4,8,16",
    requests: Annotated[int, typer.Option(min=1, help="Requests per concurrency level")] = 64,
    warmup: Annotated[int, typer.Option(min=0, help="Warm-up requests before the sweep")] = 4,
    model: Model = "tts-1",
    voice: Voice = "alloy",
    timeout: Timeout = 120.0,
    out: Out = None,
) -> None:
    """Throughput (req/s, audio-s/s), latency p50/p95/p99, errors and 429/503 at each concurrency."""
    from benchmarks.load import run_load

    run_load(
        url,
        parse_concurrencies(concurrency),
        requests,
        model=model,
        voice=voice,
        timeout_s=timeout,
        warmup=warmup,
        out=out or default_out("load"),
    )


@app.command()
def overhead(
    url: Url = "http://127.0.0.1:8000",
    engine: EngineName = "espeak",
    preset: Preset = "tiny",
    device: Device = "cpu",
    fp16: Fp16 = False,
    model_dir: ModelDir = None,
    repeats: Annotated[int, typer.Option(min=1, help="Passes over the sentences")] = 5,
    concurrency: Annotated[int, typer.Option(min=1, help="Concurrency of the throughput comparison")] = 4,
    model: Model = "tts-1",
    voice: Voice = "alloy",
    timeout: Timeout = 120.0,
    out: Out = None,
) -> None:
    """Added latency of HTTP over in-process (p50, p99) and throughput ratio; the server must run the same engine."""
    from benchmarks.overhead import run_overhead

    run_overhead(
        url,
        engine_name=engine,
        preset=preset,
        device=device,
        fp16=fp16,
        model_dir=model_dir,
        repeats=repeats,
        concurrency=concurrency,
        model=model,
        voice=voice,
        timeout_s=timeout,
        out=out or default_out("overhead"),
    )


@app.command()
def soak(
    url: Url = "http://127.0.0.1:8000",
    requests: Annotated[int, typer.Option(min=1, help="Total requests")] = 10_000,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight")] = 8,
    pid: Annotated[int | None, typer.Option(help="Server pid (default: found from the URL's port)")] = None,
    model: Model = "tts-1",
    voice: Voice = "alloy",
    timeout: Timeout = 120.0,
    out: Out = None,
) -> None:
    """N requests at fixed concurrency; RSS/GPU memory growth first->last tenth; exit 1 if any request was lost."""
    from benchmarks.soak import run_soak

    run_soak(
        url,
        requests,
        concurrency,
        pid=pid,
        model=model,
        voice=voice,
        timeout_s=timeout,
        out=out or default_out("soak"),
    )


@app.command()
def calibrate(
    engine: EngineName = "loadmodel",
    preset: Preset = "tiny",
    device: Device = "cpu",
    fp16: Fp16 = False,
    model_dir: ModelDir = None,
    concurrency: Annotated[str, typer.Option(help="Comma-separated batch sizes")] = "1,2,4,8,16",
    repeats: Annotated[int, typer.Option(help="Batches per level")] = 2,
    gpu: Annotated[str | None, typer.Option(help="Catalog GPU key (default: from the device name)")] = None,
    out: Out = None,
) -> None:
    """RTF by concurrency + memory peak -> a profile JSON for `cost-estimate --profile FILE`."""
    from benchmarks.calibrate import run_calibrate

    run_calibrate(
        engine_name=engine,
        preset=preset,
        device=device,
        fp16=fp16,
        model_dir=model_dir,
        concurrencies=parse_concurrencies(concurrency),
        repeats=repeats,
        gpu_key=gpu,
        out=out or default_out("profile"),
    )


@app.command()
def roofline(
    preset: Preset = "full",
    device: Device = "cpu",
    fp16: Fp16 = False,
    text: Annotated[str, typer.Option(help="Sentence to time at batch 1")] = "今天天气很好，我们去公园散步吧。",
    out: Out = None,
) -> None:
    """Scale the load model's measured stage timings to an L20 and compare with CosyVoice3's published RTF 0.109."""
    from benchmarks.roofline_check import run_roofline

    run_roofline(preset=preset, device=device, fp16=fp16, text=text, out=out or default_out("roofline"))


def main() -> None:
    try:
        app(standalone_mode=False)
    except BenchError as exc:
        print(f"tts-bench: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except BenchFailedError as exc:
        print(f"tts-bench: {exc}", file=sys.stderr)
        sys.exit(1)
    except typer.Abort:
        sys.exit(130)
    except Exception as exc:  # click usage errors carry their own exit code
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
