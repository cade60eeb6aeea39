"""`tts-bench calibrate`: an engine in-process on this machine's accelerator (or CPU) at batch/concurrency
1, 2, 4, 8, 16; writes a `voicefleet-profile/1` JSON that `cost-estimate --profile FILE` consumes.

RTF at concurrency c = wall seconds of a batch of c requests / the audio seconds they produced together.
Engines that batch get one batch of c; the others get c threads at once.
"""

from __future__ import annotations

import datetime as dt
import re
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS_DIR, SENTENCES, BenchError, command_line, machine_facts, print_header, write_json
from benchmarks.engines import build_engine, precision_of
from service.engines.base import Engine, SynthesisRequest, SynthesisResult

SCHEMA = "voicefleet-profile/1"


def catalog_gpu_key(device_name: str) -> str | None:
    """'NVIDIA A10G' -> 'A10G', 'NVIDIA L4' -> 'L4' (whole words only, so 'L40S' never reads as 'L4')."""
    from cost.catalog import gpus_file

    words = set(re.split(r"[\s\-_/]+", device_name.upper()))
    matches = [key for key in gpus_file()["gpus"] if key.upper() in words]
    return matches[0] if len(matches) == 1 else None


def _device_name(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        return str(torch.cuda.get_device_name(torch.device(device)))
    return str(machine_facts()["cpu"])


def _run_level(engine: Engine, concurrency: int) -> tuple[float, list[SynthesisResult]]:
    requests = [SynthesisRequest(text=SENTENCES[i % len(SENTENCES)]) for i in range(concurrency)]
    start = time.perf_counter()
    if engine.capabilities.batching:
        results = engine.synthesize_batch(requests)
    else:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            results = [r[0] for r in pool.map(lambda req: engine.synthesize_batch([req]), requests)]
    return time.perf_counter() - start, results


def _reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.reset_peak_memory_stats(torch.device(device))


def _peak_gib(device: str) -> tuple[float, str]:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.max_memory_allocated(torch.device(device)) / 2**30, "torch.cuda.max_memory_allocated"
    # ru_maxrss is in KiB on Linux: the whole process's peak, engine included.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, "peak RSS of the process"


def run_calibrate(
    *,
    engine_name: str,
    preset: str,
    device: str,
    fp16: bool,
    model_dir: Path | None,
    concurrencies: list[int],
    repeats: int,
    gpu_key: str | None,
    out: Path,
) -> dict[str, Any]:
    if repeats < 1:
        raise BenchError(f"--repeats: {repeats} must be >= 1")
    facts = machine_facts()
    print_header("calibrate", facts)
    engine = build_engine(engine_name, preset=preset, device=device, fp16=fp16, model_dir=model_dir)
    device_name = _device_name(device) if engine_name != "espeak" else str(facts["cpu"])
    gpu = gpu_key if gpu_key is not None else (catalog_gpu_key(device_name) if device.startswith("cuda") else None)
    precision = precision_of(engine_name, fp16)
    label = f"{engine_name} (preset {preset})" if engine_name == "loadmodel" else engine_name
    print(f"engine {label} on {device} = {device_name}; {precision}; catalog GPU: {gpu}")
    _reset_peak(device)
    _run_level(engine, 1)  # warm-up: first-call allocations and kernel selection
    rtf: dict[str, float] = {}
    stages: dict[str, dict[str, float]] = {}
    print(f"{'conc':>5} {'wall s':>8} {'audio s':>8} {'RTF':>8} {'audio-s/s':>10}")
    for c in concurrencies:
        wall = audio = 0.0
        for _ in range(repeats):
            elapsed, results = _run_level(engine, c)
            wall += elapsed
            audio += sum(r.duration_s for r in results)
            engine.release()
        rtf[str(c)] = round(wall / audio, 5)
        timings = getattr(engine, "last_timings", None)
        if timings is not None:  # the load model reports its stages
            stages[str(c)] = {"llm_s": timings.llm_s, "flow_s": timings.flow_s, "vocoder_s": timings.vocoder_s}
        print(f"{c:>5} {wall:>8.3f} {audio:>8.2f} {wall / audio:>8.4f} {audio / wall:>10.2f}")
    peak, peak_how = _peak_gib(device)
    lo, hi = str(min(concurrencies)), str(max(concurrencies))
    speedup = rtf[lo] / rtf[hi]
    print(f"batched/unbatched throughput ratio (concurrency {hi} vs {lo}): {speedup:.2f}x; memory peak {peak:.2f} GiB")
    profile: dict[str, Any] = {
        "schema": SCHEMA,
        "device": device_name,
        "gpu": gpu,
        "engine": engine_name,
        "precision": precision,
        "rtf_by_concurrency": rtf,
        "memory_peak_gib": round(max(peak, 0.001), 3),
        "date": dt.date.today().isoformat(),
        "source": (
            f"measured by `{command_line()}`: {repeats} batch(es) per concurrency after one warm-up, RTF = wall s / "
            f"audio s over the concurrent streams; engine {label}; memory = {peak_how}"
            + (
                "; loadmodel = CosyVoice3 shapes with random weights, not the real model"
                if engine_name == "loadmodel"
                else ""
            )
        ),
    }
    _validate(profile, out)
    write_json(out, profile)
    write_json(
        RESULTS_DIR / f"{out.stem}.details.json", {"machine": facts, "stages_by_concurrency": stages, "ratio": speedup}
    )
    engine.close()
    print(f"wrote {out}")
    return profile


def _validate(profile: dict[str, Any], out: Path) -> None:
    """The cost model's own parser checks what it will read (one contract, not two)."""
    from cost.errors import CostInputError
    from cost.profiles import parse_profile

    try:
        parse_profile(profile, str(out))
    except CostInputError as exc:
        raise BenchError(f"the profile would be refused by cost-estimate: {exc}") from exc
