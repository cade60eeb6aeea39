"""`tts-bench`: load, overhead, soak, fuzz, drill, calibrate and roofline — each prints the exact command, machine
facts and its figures, and writes them as JSON (default under benchmarks/results/, which git ignores). Without
--url, the HTTP benchmarks start a local `tts-serve` (espeak) for the run and stop it after."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from benchmarks.common import BenchError, BenchFailedError, default_out, parse_concurrencies
from benchmarks.http_driver import HttpTarget

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)

Url = Annotated[
    str | None,
    typer.Option(help="Base URL of a running service (default: start a local tts-serve with espeak for this run)"),
]
Model = Annotated[str, typer.Option(help="'model' field of each request")]
Voice = Annotated[str, typer.Option(help="'voice' field of each request")]
Timeout = Annotated[float, typer.Option(help="Per-request timeout in seconds")]
Out = Annotated[Path | None, typer.Option(help="JSON output file (default benchmarks/results/<kind>-<time>.json)")]
EngineName = Annotated[str, typer.Option("--engine", help="In-process engine: loadmodel, espeak or cosyvoice3")]
Preset = Annotated[str, typer.Option(help="loadmodel size: tiny (CPU tests) or full (~0.5B LLM, GPUs)")]
Device = Annotated[str, typer.Option(help="cpu, cuda or cuda:N")]
Fp16 = Annotated[bool, typer.Option("--fp16/--fp32", help="Precision of GPU engines")]
ApiKey = Annotated[
    str | None, typer.Option(envvar="TTS_BENCH_API_KEY", help="API key to send (Authorization: Bearer) with --url")
]
ModelDir = Annotated[Path | None, typer.Option(help="CosyVoice3 weights directory (engine cosyvoice3)")]


@contextlib.contextmanager
def _target(
    url: str | None, model: str, voice: str, timeout_s: float, api_key: str | None, env: dict[str, str] | None = None
) -> Iterator[tuple[HttpTarget, int | None]]:
    """(target, server pid when we started it): the given URL, or a local tts-serve for this run."""
    if url:
        yield HttpTarget(url.rstrip("/"), model, voice, timeout_s, api_key), None
        return
    from benchmarks.local import local_service

    # CosyVoice3 imports torch and upstream's package before it is ready: minutes on a small CPU machine.
    ready_timeout_s = 600 if (env or {}).get("TTS_ENGINE") == "cosyvoice3" else 60
    with local_service(env, ready_timeout_s=ready_timeout_s) as serve:
        yield HttpTarget(serve.url, model, voice, timeout_s, api_key), serve.pid


@app.command()
def load(
    url: Url = None,
    concurrency: Annotated[str, typer.Option(help="Comma-separated sweep")] = "1,2,4,8,16",
    requests: Annotated[int, typer.Option(min=1, help="Requests per concurrency level")] = 64,
    warmup: Annotated[int, typer.Option(min=0, help="Warm-up requests before the sweep")] = 4,
    model: Model = "tts-1",
    voice: Voice = "alloy",
    timeout: Timeout = 120.0,
    api_key: ApiKey = None,
    out: Out = None,
    engine: EngineName = "espeak",
    model_dir: ModelDir = None,
    device: Device = "cpu",
    voice_clip: Annotated[
        Path | None,
        typer.Option(help="Clip to clone for cosyvoice3 (default: upstream's asset/zero_shot_prompt.wav)"),
    ] = None,
) -> None:
    """Throughput (req/s, audio-s/s), latency p50/p95/p99, errors and 429/503 at each concurrency. Without --url it
    starts a local tts-serve with --engine (cosyvoice3 needs --model-dir; a voice is cloned from --voice-clip)."""
    from benchmarks.load import run_load

    levels = parse_concurrencies(concurrency)
    # The local server's deadline follows the client's --timeout, so a slow engine is measured, not cut off at 60 s.
    env = (
        None
        if url
        else {**_server_env(engine, "tiny", device, False, model_dir), "TTS_REQUEST_TIMEOUT_S": str(timeout)}
    )
    if engine == "cosyvoice3" and not url and model_dir is None:
        raise BenchError("--engine cosyvoice3 needs --model-dir (e.g. a tiny checkpoint: voicefleet-models tiny)")
    with _target(url, model, voice, timeout, api_key, env) as (target, _):
        if engine == "cosyvoice3" and not url:
            from benchmarks.voices import clone_voice

            target = clone_voice(target, voice_clip)
        run_load(target, levels, requests, warmup=warmup, out=out or default_out("load"))


@app.command()
def streams(
    url: Url = None,
    concurrency: Annotated[str, typer.Option(help="Comma-separated sweep")] = "1,2,4,8",
    requests: Annotated[int, typer.Option(min=1, help="Streams per concurrency level")] = 16,
    text: Annotated[list[str] | None, typer.Option(help="Text to say (repeatable; default: a short sentence)")] = None,
    model: Model = "tts-1",
    voice: Voice = "alloy",
    timeout: Timeout = 600.0,
    api_key: ApiKey = None,
    out: Out = None,
    engine: EngineName = "espeak",
    model_dir: ModelDir = None,
    device: Device = "cpu",
    voice_clip: Annotated[Path | None, typer.Option(help="Clip to clone for cosyvoice3")] = None,
    max_concurrency: Annotated[int, typer.Option(min=1, help="The local server's TTS_MAX_CONCURRENCY")] = 8,
) -> None:
    """Time to first audio, stream time and audio-seconds per second at each concurrency (pcm streams)."""
    from benchmarks.streams import run_streams

    levels = parse_concurrencies(concurrency)
    if engine == "cosyvoice3" and not url and model_dir is None:
        raise BenchError("--engine cosyvoice3 needs --model-dir (e.g. a tiny checkpoint: voicefleet-models tiny)")
    env = None
    if not url:
        queue = str(max(64, 4 * max(levels)))
        env = {
            **_server_env(engine, "tiny", device, False, model_dir),
            "TTS_REQUEST_TIMEOUT_S": str(min(timeout, 600)),
            "TTS_STREAM_TIMEOUT_S": str(timeout),
            "TTS_MAX_CONCURRENCY": str(max_concurrency),
            "TTS_MAX_QUEUE": queue,
        }
    with _target(url, model, voice, timeout, api_key, env) as (target, _):
        if engine == "cosyvoice3" and not url:
            from benchmarks.voices import clone_voice

            target = clone_voice(target, voice_clip)
        texts = text or ["你好，欢迎使用语音合成。"]
        run_streams(target, levels, requests, texts=texts, out=out or default_out("streams"))


@app.command()
def overhead(
    url: Url = None,
    engine: EngineName = "espeak",
    preset: Preset = "tiny",
    device: Device = "cpu",
    fp16: Fp16 = False,
    model_dir: ModelDir = None,
    repeats: Annotated[int, typer.Option(min=1, help="Passes over the sentences")] = 25,
    concurrency: Annotated[int, typer.Option(min=1, help="Concurrency of the throughput comparison")] = 4,
    model: Model = "tts-1",
    voice: Voice = "alloy",
    timeout: Timeout = 120.0,
    api_key: ApiKey = None,
    out: Out = None,
    against: Annotated[
        str | None,
        typer.Option(
            help="A git ref of this repository (e.g. a past commit): its service runs beside this one, requests "
            "interleaved, and the ratios this/that are printed (local servers only)"
        ),
    ] = None,
    floor: Annotated[
        bool,
        typer.Option(
            "--floor",
            help="Also serve a bare ASGI app doing the same work on the same uvicorn (benchmarks/floor.py), requests "
            "interleaved: what HTTP itself costs here, and how far above it the service is",
        ),
    ] = False,
) -> None:
    """Added latency of HTTP over in-process (p50, p99), the CPU serving adds, and the throughput ratio; the server
    must run the same engine. The in-process side prepares the text and makes the answer as the service does."""
    from benchmarks.local import baseline_service, floor_service, resolve_ref
    from benchmarks.overhead import run_overhead

    if against and url:
        raise BenchError("--against starts both versions here; drop --url")
    if against:
        resolve_ref(against)  # before starting anything
    server_env = _server_env(engine, preset, device, fp16, model_dir)
    with contextlib.ExitStack() as stack:
        target, _ = stack.enter_context(_target(url, model, voice, timeout, api_key, server_env))
        baseline = None
        if against:
            serve = stack.enter_context(baseline_service(against, server_env))
            baseline = (against, HttpTarget(serve.url, model, voice, timeout, api_key))
        floor_target = None
        if floor:
            engine_args = ["--engine", engine, "--preset", preset, "--device", device, *(["--fp16"] if fp16 else [])]
            engine_args += ["--model-dir", str(model_dir)] if model_dir is not None else []
            floor_server = stack.enter_context(floor_service(engine_args))
            floor_target = HttpTarget(floor_server.url, model, voice, timeout, None)
        run_overhead(
            target,
            engine_name=engine,
            preset=preset,
            device=device,
            fp16=fp16,
            model_dir=model_dir,
            repeats=repeats,
            concurrency=concurrency,
            out=out or default_out("overhead"),
            baseline=baseline,
            floor=floor_target,
        )


def _server_env(engine: str, preset: str, device: str, fp16: bool, model_dir: Path | None) -> dict[str, str]:
    """TTS_* settings for a local server running the same engine as the in-process side."""
    env = {"TTS_ENGINE": engine, "TTS_DEVICE": device, "TTS_FP16": str(fp16).lower()}
    if engine == "loadmodel":
        env |= {"TTS_ALLOW_LOADMODEL": "true", "TTS_LOADMODEL_PRESET": preset}
    if model_dir is not None:
        env["TTS_MODEL_DIR"] = str(model_dir)
    return env


@app.command()
def soak(
    url: Url = None,
    requests: Annotated[int, typer.Option(min=1, help="Total requests")] = 10_000,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight")] = 8,
    pid: Annotated[int | None, typer.Option(help="Server pid (default: found from the URL's port)")] = None,
    model: Model = "tts-1",
    voice: Voice = "alloy",
    timeout: Timeout = 120.0,
    api_key: ApiKey = None,
    out: Out = None,
) -> None:
    """N requests at fixed concurrency; RSS/GPU memory growth first->last tenth; exit 1 if any request was lost."""
    from benchmarks.soak import run_soak

    with _target(url, model, voice, timeout, api_key) as (target, local_pid):
        run_soak(target, requests, concurrency, pid=pid or local_pid, out=out or default_out("soak"))


@app.command()
def fuzz(
    url: Annotated[
        str | None,
        typer.Option(help="Base URL of a running service (default: a local tts-serve, espeak, with an API key)"),
    ] = None,
    requests: Annotated[int, typer.Option(min=1, help="Generated requests to send (at least)")] = 1000,
    seed: Annotated[int, typer.Option(help="Hypothesis seed (same seed, same requests)")] = 0,
    api_key: Annotated[
        str | None,
        typer.Option(envvar="TTS_BENCH_API_KEY", help="Key to send (default with a local server: a new one)"),
    ] = None,
    timeout: Timeout = 60.0,
    out: Out = None,
) -> None:
    """schemathesis on /openapi.json: requests by status class; 5xx and schema violations must be 0 (else exit 1)."""
    from benchmarks.fuzz import run_fuzz

    run_fuzz(url, requests=requests, seed=seed, api_key=api_key, timeout_s=timeout, out=out or default_out("fuzz"))


@app.command()
def drill(
    name: Annotated[str, typer.Argument(help="spot, s3, oom, recycle or all")],
    clients: Annotated[int, typer.Option(help="Concurrent clients")] = 8,
    requests: Annotated[int, typer.Option(help="Requests to serve per drill")] = 200,
    out: Out = None,
) -> None:
    """Faults mid-load on a real tts-serve: admitted / rejected (429/503) / lost per drill; exit 1 if any was lost."""
    from benchmarks.drills.runner import parse_drills, run_drills
    from benchmarks.drills.scenarios import DrillSize

    run_drills(parse_drills(name), DrillSize(clients=clients, requests=requests), out or default_out("drill"))


@app.command()
def calibrate(
    engine: EngineName = "loadmodel",
    preset: Preset = "tiny",
    device: Device = "cpu",
    fp16: Fp16 = False,
    model_dir: ModelDir = None,
    concurrency: Annotated[str, typer.Option(help="Comma-separated streams in flight")] = "1,2,4,8,16",
    repeats: Annotated[int, typer.Option(help="Batches per level")] = 2,
    gpu: Annotated[str | None, typer.Option(help="Catalog GPU key (default: from the device name)")] = None,
    prompt_wav: Annotated[Path | None, typer.Option(help="Voice clip to clone (required for cosyvoice3)")] = None,
    prompt_text: Annotated[str | None, typer.Option(help="Transcript of --prompt-wav")] = None,
    out: Out = None,
) -> None:
    """First-chunk time and per-stream RTF vs streams in flight -> a service-time profile (cost-estimate --profile
    FILE; copy it to voicefleet_config/profiles/ to size the service and the scaling target)."""
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
        prompt_wav=prompt_wav,
        prompt_text=prompt_text,
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
