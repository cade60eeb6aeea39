"""`tts-bench calibrate`: an engine in-process on this machine's accelerator (or CPU) with 1, 2, 4, 8, 16 streams
in flight; writes the service-time profile (`voicefleet-service-time/1`, voicefleet_config/capacity.py) that
cost-estimate (`--profile FILE`), the service's admission slots and the Auto Scaling target read once it is copied
to voicefleet_config/profiles/.

At k streams in flight, k requests stream at once (threads, as the service runs them): first_chunk_s = start to the
first audio segment (p95 over the streams and repeats), rtf = a stream's wall time / the audio seconds it produced
(the per-stream real-time factor, mean over the streams). Engines without streaming yield the whole result as one
segment, so their first chunk is the whole clip. Figures measured on a CPU or with the load model are not GPU
figures: the entry then has gpu null (CPU) and says "random weights" (loadmodel).
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
from service.engines.base import Engine, SynthesisRequest, VoicePrompt
from voicefleet_config.capacity import SCHEMA, ProfileError, parse_profile


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


def load_prompt(path: Path | None, text: str | None) -> VoicePrompt | None:
    """The voice clip CosyVoice3 clones (it refuses a request without one); None for engines that need none."""
    if path is None:
        return None
    import numpy as np
    import soundfile as sf

    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=False)
    except (OSError, RuntimeError) as exc:
        raise BenchError(f"--prompt-wav {path}: cannot read ({exc})") from exc
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    return VoicePrompt(audio=np.asarray(audio, dtype=np.float32), sample_rate=int(rate), text=text)


def _stream_level(engine: Engine, streams: int, prompt: VoicePrompt | None = None) -> list[tuple[float, float, float]]:
    """(first chunk s, wall s, audio s) of each of `streams` requests streamed at once."""
    requests = [SynthesisRequest(text=SENTENCES[i % len(SENTENCES)], prompt=prompt) for i in range(streams)]

    def one(request: SynthesisRequest) -> tuple[float, float, float]:
        start = time.perf_counter()
        first: float | None = None
        samples = 0
        for segment in engine.stream(request):
            if first is None:
                first = time.perf_counter() - start
            samples += len(segment)
        wall = time.perf_counter() - start
        return (first if first is not None else wall), wall, samples / engine.capabilities.sample_rate

    with ThreadPoolExecutor(max_workers=streams) as pool:
        return list(pool.map(one, requests))


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
    engine_option: str = "pytorch",
    prompt_wav: Path | None = None,
    prompt_text: str | None = None,
) -> dict[str, Any]:
    if repeats < 1:
        raise BenchError(f"--repeats: {repeats} must be >= 1")
    facts = machine_facts()
    print_header("calibrate", facts)
    if engine_name == "cosyvoice3" and prompt_wav is None:
        raise BenchError("--prompt-wav is required for --engine cosyvoice3 (it clones a 3-30 s voice clip)")
    prompt = load_prompt(prompt_wav, prompt_text)
    engine = build_engine(engine_name, preset=preset, device=device, fp16=fp16, model_dir=model_dir)
    device_name = _device_name(device) if engine_name != "espeak" else str(facts["cpu"])
    gpu = gpu_key if gpu_key is not None else (catalog_gpu_key(device_name) if device.startswith("cuda") else None)
    precision = precision_of(engine_name, fp16)
    label = f"{engine_name} (preset {preset})" if engine_name == "loadmodel" else engine_name
    print(f"engine {label} on {device} = {device_name}; {precision}; catalog GPU: {gpu}")
    _reset_peak(device)
    _stream_level(engine, 1, prompt)  # warm-up: first-call allocations and kernel selection
    points: dict[str, dict[str, float]] = {}
    print(f"{'streams':>7} {'first chunk p95 s':>18} {'per-stream RTF':>15} {'audio-s/s':>10}")
    for k in concurrencies:
        firsts: list[float] = []
        rtfs: list[float] = []
        audio = wall = 0.0
        for _ in range(repeats):
            for first, stream_wall, stream_audio in _stream_level(engine, k, prompt):
                firsts.append(first)
                rtfs.append(stream_wall / max(stream_audio, 1e-9))
                audio += stream_audio
                wall = max(wall, stream_wall)
            engine.release()
        firsts.sort()
        p95 = firsts[min(len(firsts) - 1, int(0.95 * len(firsts)))]
        rtf = sum(rtfs) / len(rtfs)
        points[str(k)] = {"first_chunk_s": round(max(p95, 1e-6), 5), "rtf": round(max(rtf, 1e-6), 5)}
        print(f"{k:>7} {p95:>18.3f} {rtf:>15.4f} {audio / repeats / max(wall, 1e-9):>10.2f}")
    peak, peak_how = _peak_gib(device)
    lo, hi = str(min(concurrencies)), str(max(concurrencies))
    speedup = (int(hi) / points[hi]["rtf"]) / (int(lo) / points[lo]["rtf"])
    print(f"aggregate throughput ratio ({hi} vs {lo} streams in flight): {speedup:.2f}x; memory peak {peak:.2f} GiB")
    random = (
        "; loadmodel = CosyVoice3 shapes with random weights, not the real model" if engine_name == "loadmodel" else ""
    )
    profile: dict[str, Any] = {
        "schema": SCHEMA,
        "entries": [
            {
                "gpu": gpu,
                "engine_option": engine_option,
                "precision": precision,
                "basis": "measured",
                "verified": engine_name == "cosyvoice3" and gpu is not None,
                "device": device_name,
                "date": dt.date.today().isoformat(),
                "source": (
                    f"measured by `{command_line()}`: {repeats} round(s) per level after one warm-up; first chunk = "
                    f"p95 start-to-first-audio over the concurrent streams, rtf = mean per-stream wall / audio s; "
                    f"engine {label}; memory peak {peak:.3f} GiB ({peak_how}){random}"
                ),
                "points": points,
            }
        ],
    }
    _validate(profile, out)
    write_json(out, profile)
    write_json(RESULTS_DIR / f"{out.stem}.details.json", {"machine": facts, "ratio": speedup})
    engine.close()
    print(f"wrote {out}")
    return profile


def _validate(profile: dict[str, Any], out: Path) -> None:
    """The config's own parser checks what cost-estimate, infra and the service will read (one contract)."""
    try:
        parse_profile(profile, str(out))
    except ProfileError as exc:
        raise BenchError(f"the profile would be refused: {exc}") from exc
