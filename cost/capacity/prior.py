"""The service-time prior: first-chunk time and per-stream RTF vs streams in flight, fitted to every published
CosyVoice speed figure (cost/catalog/data/published_speed.json, all on one L20) and moved to each GPU by one rule per
regime. Written to voicefleet_config/data/service_time.json (`python -m cost.capacity.prior --write`), which the
config, the service sizing, the scaling target and the cost model all read; a test keeps the file equal to this fit.

Regimes (per audio second, at one stream, on the L20):
- LLM, TensorRT-LLM/vLLM (batched, compiled): llm_time / audio of the CosyVoice3 table, all 5 batch points fitted to
  A/b + C (weights read once per step for the batch: memory-bandwidth-bound), moved to a GPU by bandwidth.
- LLM, PyTorch eager (what the service runs): the TensorRT-LLM figure x upstream's HF / TRT-LLM LLM-time ratio at
  batch 1 (CosyVoice2 table: 39.26 / 12.46 = 3.15). A 0.5B model decoding one token per ~9 ms on an 864 GB/s GPU
  is launch-bound (reading 1 GB of weights takes ~1.2 ms), so this part is *not* scaled by bandwidth: the same on
  every GPU (kernel launches run on the host CPU).
- token2wav (flow + vocoder), compute-bound: the CosyVoice3 table's token2wav time (TensorRT flow), moved by fp16
  tensor TFLOPS (fp32: by fp32 TFLOPS); PyTorch flow = that x `flow_pytorch_over_tensorrt` (an assumption).
- Concurrency: the service runs streams concurrently in threads, unbatched, so the GPU is shared, not batched: the
  aggregate throughput stays that of one stream and each of k streams runs k times slower (per-stream RTF = k x R1).
  Only the vLLM option batches the LLM across streams (A/k + C); its flow part is still shared.
- First chunk: a frontend constant (fitted: the CosyVoice3 streaming p95 first chunk at concurrency 4, 977.55 ms,
  minus 1.12 s of audio at the TensorRT pipeline's per-stream RTF at 4 streams) + 1.12 s of audio at the per-stream
  RTF with k streams in flight.
Every figure is unverified until `tts-bench calibrate` measures the real model on the GPU (a measured profile wins).
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

from cost.catalog import gpu as gpu_spec
from voicefleet_config.capacity import PRIOR_FILE, SCHEMA
from voicefleet_config.instance_types import INSTANCE_GPUS

PUBLISHED = Path(__file__).resolve().parent.parent / "catalog" / "data" / "published_speed.json"
STREAMS = (1, 2, 3, 4, 6, 8, 12, 16)
DATE = "2026-12-01"


@cache
def published() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    return data


def _least_squares(xs: list[float], ys: list[float]) -> tuple[float, float]:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
    return slope, my - slope * mx


@cache
def l20_terms() -> dict[str, float]:
    """Seconds per audio second on the L20, by regime (the fit's own figures, printed by --explain)."""
    pub = published()
    rows = pub["cosyvoice3_trtllm_offline"]["rows"]
    audio = [r[3] / r[4] for r in rows]  # pipeline time / RTF: the audio seconds of the test set (~178.6 s)
    total_audio = sum(audio) / len(audio)
    a, c = _least_squares([1 / r[0] for r in rows], [r[1] / total_audio for r in rows])
    token2wav = sum(r[2] for r in rows) / len(rows) / total_audio
    overhead = sum(r[3] - r[1] - r[2] for r in rows) / len(rows) / total_audio
    hf = pub["cosyvoice2_hf_vs_trtllm"]["rows"][0]
    hf_ratio = hf[1] / hf[4]
    llm_eager = rows[0][1] / total_audio * hf_ratio
    chunk_audio = pub["first_chunk_tokens"]["value"] / 25
    fc = pub["cosyvoice3_trtllm_first_chunk"]
    k = fc["concurrency"]
    trt_rtf_k = k * (a / k + c + token2wav + overhead)
    frontend = fc["p95_ms"] / 1000 - chunk_audio * trt_rtf_k
    return {
        "audio_s": total_audio,
        "llm_trt_a": a,
        "llm_trt_c": c,
        "token2wav_trt": token2wav,
        "overhead": overhead,
        "hf_over_trtllm": hf_ratio,
        "llm_eager": llm_eager,
        "flow_pytorch_factor": float(pub["flow_pytorch_over_tensorrt"]["value"]),
        "chunk_audio_s": chunk_audio,
        "frontend_s": frontend,
    }


def per_stream_rtf(gpu: str, option: str, precision: str, streams: int) -> float:
    t = l20_terms()
    ref, target = gpu_spec("L20"), gpu_spec(gpu)
    flops = target.fp16_tensor_tflops if precision == "fp16" else target.fp32_tflops
    flow = t["token2wav_trt"] * ref.fp16_tensor_tflops / flops
    if option != "trt":
        flow *= t["flow_pytorch_factor"]
    if option == "vllm":
        bytes_factor = 1.0 if precision == "fp16" else 2.0
        llm = (t["llm_trt_a"] / streams + t["llm_trt_c"]) * ref.memory_bandwidth_gbs / target.memory_bandwidth_gbs
        llm *= bytes_factor
    else:
        llm = t["llm_eager"]
    return streams * (llm + flow + t["overhead"])


def entry(gpu: str, option: str, precision: str) -> dict[str, Any]:
    t = l20_terms()
    points = {}
    for k in STREAMS:
        rtf = per_stream_rtf(gpu, option, precision, k)
        points[str(k)] = {"first_chunk_s": round(t["frontend_s"] + t["chunk_audio_s"] * rtf, 4), "rtf": round(rtf, 4)}
    rule = {
        "pytorch": "LLM eager (launch-bound, same on every GPU) + PyTorch flow (TFLOPS-scaled), shared by k streams",
        "trt": "LLM eager (launch-bound, same on every GPU) + TensorRT flow (TFLOPS-scaled), shared by k streams",
        "vllm": "LLM batched across streams (A/k + C, bandwidth-scaled) + PyTorch flow (TFLOPS-scaled, shared)",
    }[option]
    return {
        "gpu": gpu,
        "engine_option": option,
        "precision": precision,
        "basis": "prior",
        "verified": False,
        "device": f"{gpu} (prior, not measured)",
        "date": DATE,
        "source": f"fitted to upstream's L20 tables (cost/catalog/data/published_speed.json): {rule}",
        "points": points,
    }


def document() -> dict[str, Any]:
    gpus = sorted(set(INSTANCE_GPUS.values()))
    return {
        "schema": SCHEMA,
        "_comment": "Generated by `python -m cost.capacity.prior --write` (cost/capacity/prior.py); do not edit. "
        "A prior: unverified until tts-bench calibrate measures the real model (a measured profile wins).",
        "entries": [entry(g, o, p) for g in gpus for o in ("pytorch", "trt", "vllm") for p in ("fp16", "fp32")],
    }


def render() -> str:
    return json.dumps(document(), indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if "--write" in args:
        PRIOR_FILE.write_text(render(), encoding="utf-8")
        print(f"wrote {PRIOR_FILE}")
    else:
        for key, value in l20_terms().items():
            print(f"{key:>20} {value:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
