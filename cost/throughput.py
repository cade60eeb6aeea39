"""Throughput per GPU for the CosyVoice3 pipeline: a calibrated roofline estimate, or a measured profile.

Roofline: per audio second the LLM emits 25 speech tokens. Each decode step reads all weights once for the whole
batch, so decode time per audio second falls as 1/batch and scales with 1/memory-bandwidth; the flow-matching
decoder and vocoder are compute-bound, so their time per audio second is flat in batch and scales with 1/FP16
tensor TFLOPS. Hence RTF(b) = A/b + B. A and B are fitted (least squares on 1/b) to the published CosyVoice3 L20
points (0.109 @1, 0.063 @4, 0.050 @16, TensorRT-LLM), which fixes the efficiencies, and moved to another GPU by
the ratio of bandwidths (A) and tensor TFLOPS (B). Without TensorRT the result is multiplied by a documented penalty.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from cost.catalog import Gpu, gpu, model_file, model_value
from cost.profiles import Profile

CANDIDATE_CONCURRENCY = (1, 2, 4, 8, 16, 32)


@dataclass(frozen=True)
class ThroughputModel:
    """RTF at each concurrency this GPU can be run at, and where the figures came from."""

    rtf_by_concurrency: dict[int, float]
    source: str
    memory_peak_gib: float | None = None  # measured peak (profiles only)


@cache
def calibration_fit() -> tuple[float, float]:
    """(A, B) of RTF(b) = A/b + B on the calibration GPU, by least squares over the published points."""
    points = {int(k): float(v) for k, v in model_file()["calibration"]["rtf_by_batch"].items()}
    xs = [1 / b for b in points]
    ys = list(points.values())
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum((x - mean_x) ** 2 for x in xs)
    return slope, mean_y - slope * mean_x


def roofline(target: Gpu, *, fp16: bool, tensorrt: bool = False) -> ThroughputModel:
    """Estimated RTF on `target` for the candidate concurrencies."""
    a_ref, b_ref = calibration_fit()
    ref = gpu(str(model_file()["calibration"]["gpu"]))
    bytes_factor = 1.0 if fp16 else float(model_value("fp32_memory_factor"))
    a = a_ref * ref.memory_bandwidth_gbs / target.memory_bandwidth_gbs * bytes_factor
    flops = target.fp16_tensor_tflops if fp16 else target.fp32_tflops
    b = b_ref * ref.fp16_tensor_tflops / flops
    penalty = 1.0 if tensorrt else float(model_value("no_tensorrt_penalty"))
    rtf = {c: (a / c + b) * penalty for c in CANDIDATE_CONCURRENCY}
    precision = "fp16" if fp16 else "fp32"
    runtime = "TensorRT-LLM" if tensorrt else f"PyTorch (x{penalty:g} no-TensorRT penalty, unverified)"
    source = (
        f"roofline estimate for {target.name} {precision}, calibrated on CosyVoice3 L20 RTF 0.109/0.063/0.050, "
        f"{runtime}"
    )
    return ThroughputModel(rtf, source)


def from_profile(profile: Profile) -> ThroughputModel:
    return ThroughputModel(dict(profile.rtf_by_concurrency), profile.label(), profile.memory_peak_gib)


# Engines whose profile can stand for the production CosyVoice3 pipeline; espeak (CPU, no neural model) cannot.
GPU_ENGINES = ("cosyvoice3", "loadmodel")


def pick(
    gpu_name: str, *, fp16: bool, profiles: list[Profile], bundled: tuple[Profile, ...] | list[Profile] = ()
) -> ThroughputModel:
    """The throughput for this GPU and precision, by precedence (first match wins at each step):

    1. an explicit `--profile` (`profiles`) of engine cosyvoice3 or loadmodel;
    2. a bundled profile (cost/profiles/) of engine cosyvoice3;
    3. a bundled profile of engine loadmodel (random weights with CosyVoice3's shapes: only when no real one exists);
    4. the roofline estimate.
    """
    precision = "fp16" if fp16 else "fp32"

    def first(candidates: list[Profile] | tuple[Profile, ...], engines: tuple[str, ...]) -> Profile | None:
        return next(
            (p for p in candidates if p.gpu == gpu_name and p.precision == precision and p.engine in engines), None
        )

    chosen = first(profiles, GPU_ENGINES) or first(bundled, ("cosyvoice3",)) or first(bundled, ("loadmodel",))
    if chosen is not None:
        return from_profile(chosen)
    return roofline(gpu(gpu_name), fp16=fp16)
