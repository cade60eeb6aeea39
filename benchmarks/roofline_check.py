"""Scale the load model's measured timings through a roofline to an L20 and compare with CosyVoice3's published
RTF 0.109 at batch 1 (TensorRT-LLM). Run: `tts-bench roofline` or `python -m benchmarks.roofline_check`.

Model: LLM decode is memory-bandwidth bound (every step reads all decoder weights + the KV cache); the flow decoder
and the vocoder are compute bound (FLOPs counted by torch's FlopCounterMode, attention added analytically because
the counter misses CPU attention kernels). Two L20 predictions are printed:
- ideal: bytes / peak bandwidth and FLOPs / peak FLOP/s (an unreachable floor);
- scaled: the ideal divided by the efficiency this machine reached against its own measured peaks (copy bandwidth,
  large-matmul FLOP/s) — i.e. "the same software quality on an L20".
Both are compared, stage by stage, with the published figures; the gap is reported as it is.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from benchmarks.common import machine_facts, print_header, result_header, write_json

# FunAudioLLM/CosyVoice runtime/triton_trtllm/README.Cosyvoice3.md, "Offline TTS (CosyVoice3 0.5B LLM + Token2Wav
# with TensorRT)", one L20, TRTLLM batch size 1 (read 2025-11): llm_time 13.21 s, token2wav_time 5.72 s,
# pipeline_time 19.48 s, RTF 0.1091. Audio seconds are not printed there; pipeline / RTF gives them (~178.6 s).
PUBLISHED = {"llm_s": 13.21, "token2wav_s": 5.72, "pipeline_s": 19.48, "rtf": 0.1091}
PUBLISHED_SOURCE = "FunAudioLLM/CosyVoice runtime/triton_trtllm/README.Cosyvoice3.md (L20, TensorRT-LLM, batch 1)"


def published_stage_rtf() -> dict[str, float]:
    audio_s = PUBLISHED["pipeline_s"] / PUBLISHED["rtf"]
    return {
        "audio_s": round(audio_s, 1),
        "llm": PUBLISHED["llm_s"] / audio_s,
        "token2wav": PUBLISHED["token2wav_s"] / audio_s,
        "total": PUBLISHED["rtf"],
    }


def measure_peaks(device: str, dtype_name: str) -> dict[str, float]:
    """This machine's copy bandwidth (GB/s) and large-matmul FLOP/s, measured with torch on `device`."""
    import torch

    dtype = torch.float16 if dtype_name == "fp16" else torch.float32

    def sync() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize(device)

    src = torch.ones(64 * 2**20 // 4, dtype=torch.float32, device=device)  # 64 MiB, well past CPU caches
    dst = torch.empty_like(src)
    best_bw = 0.0
    for _ in range(5):
        sync()
        start = time.perf_counter()
        dst.copy_(src)
        sync()
        best_bw = max(best_bw, 2 * src.numel() * 4 / (time.perf_counter() - start))  # read + write
    n = 1024
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    best_flops = 0.0
    for _ in range(5):
        sync()
        start = time.perf_counter()
        for _ in range(4):
            torch.mm(a, b)
        sync()
        best_flops = max(best_flops, 4 * 2 * n**3 / (time.perf_counter() - start))
    return {"bandwidth_gbs": best_bw / 1e9, "tflops": best_flops / 1e12}


def l20_figures() -> dict[str, Any]:
    """The L20 row of the cost catalog (one source for hardware figures, with its own source note)."""
    from cost.catalog import gpus_file

    row: dict[str, Any] = gpus_file()["gpus"]["L20"]
    return row


def run_roofline(*, preset: str, device: str, fp16: bool, text: str, out: Path) -> dict[str, Any]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from service.engines.base import SynthesisRequest
    from service.engines.loadmodel import LoadModelEngine
    from service.engines.loadmodel_shapes import PRESETS, TOKEN_MEL_RATIO, TOKEN_RATE_HZ

    facts = machine_facts()
    print_header("roofline", facts)
    precision = "fp16" if fp16 else "fp32"
    engine = LoadModelEngine(preset=preset, device=device, fp16=fp16)
    engine.load()
    request = SynthesisRequest(text=text)
    engine.synthesize_batch([request])  # warm-up
    [result], timed = engine.synthesize_batch_profiled([request])
    counters: dict[str, FlopCounterMode] = {}

    def counting(name: str) -> FlopCounterMode:
        counters[name] = FlopCounterMode(display=False)
        return counters[name]

    engine.synthesize_batch_profiled([request], counting)
    audio_s = result.duration_s
    shape = PRESETS[preset]
    fs = shape.flow
    frames = timed.frames
    # Attention of the DiT: QK^T and AV, 2 FLOPs per multiply-add, CFG doubles the batch, every Euler step.
    attn_flops = 2 * 2 * 2 * fs.heads * fs.head_dim * frames**2 * fs.depth * engine.n_timesteps
    flow_flops = counters["flow"].get_total_flops() + attn_flops
    vocoder_flops = counters["vocoder"].get_total_flops()
    t2w_flops_per_audio_s = (flow_flops + vocoder_flops) / audio_s
    # Decode traffic per token: all decoder weights + the KV cache read (average context: prefix + half the tokens).
    ls = shape.llm
    elem = 2 if fp16 else 4
    context = len(text) + timed.tokens / 2
    kv_bytes = 2 * ls.layers * ls.kv_heads * ls.head_dim * elem * context
    bytes_per_token = engine.decode_weight_bytes() + kv_bytes
    bytes_per_token_fp16 = bytes_per_token * 2 / elem  # what an fp16 deployment reads
    tokens_per_audio_s = TOKEN_RATE_HZ
    peaks = measure_peaks(device, precision)
    here_llm_rtf = timed.llm_s / audio_s
    here_t2w_rtf = (timed.flow_s + timed.vocoder_s) / audio_s
    achieved_bw = bytes_per_token * timed.tokens / timed.llm_s / 1e9
    achieved_tflops = (flow_flops + vocoder_flops) / (timed.flow_s + timed.vocoder_s) / 1e12
    eff_bw = achieved_bw / peaks["bandwidth_gbs"]
    eff_compute = achieved_tflops / peaks["tflops"]
    l20 = l20_figures()
    ideal_llm = tokens_per_audio_s * bytes_per_token_fp16 / (l20["memory_bandwidth_gbs"] * 1e9)
    ideal_t2w = t2w_flops_per_audio_s / (l20["fp16_tensor_tflops"] * 1e12)
    scaled_llm = ideal_llm / min(eff_bw, 1.0)
    scaled_t2w = ideal_t2w / min(eff_compute, 1.0)
    pub = published_stage_rtf()
    result_doc: dict[str, Any] = {
        **result_header("roofline", facts),
        "torch_device": device,
        "preset": preset,
        "precision": precision,
        "text": text,
        "audio_s": audio_s,
        "tokens": timed.tokens,
        "mel_frames": frames,
        "here": {
            "llm_s": timed.llm_s,
            "flow_s": timed.flow_s,
            "vocoder_s": timed.vocoder_s,
            "rtf_llm": here_llm_rtf,
            "rtf_token2wav": here_t2w_rtf,
            "rtf_total": here_llm_rtf + here_t2w_rtf,
            "ms_per_token": timed.llm_s / timed.tokens * 1000,
            "decode_bytes_per_token": bytes_per_token,
            "achieved_bandwidth_gbs": achieved_bw,
            "measured_peak_bandwidth_gbs": peaks["bandwidth_gbs"],
            "bandwidth_efficiency": eff_bw,
            "token2wav_gflop_per_audio_s": t2w_flops_per_audio_s / 1e9,
            "achieved_tflops": achieved_tflops,
            "measured_peak_tflops": peaks["tflops"],
            "compute_efficiency": eff_compute,
        },
        "l20": {
            "hardware": {k: l20[k] for k in ("memory_bandwidth_gbs", "fp16_tensor_tflops", "source", "verified")},
            "ideal": {"rtf_llm": ideal_llm, "rtf_token2wav": ideal_t2w, "rtf_total": ideal_llm + ideal_t2w},
            "scaled": {"rtf_llm": scaled_llm, "rtf_token2wav": scaled_t2w, "rtf_total": scaled_llm + scaled_t2w},
        },
        "published": {**pub, "source": PUBLISHED_SOURCE},
        "gap_published_over_ideal": {
            "llm": pub["llm"] / ideal_llm,
            "token2wav": pub["token2wav"] / ideal_t2w,
            "total": pub["total"] / (ideal_llm + ideal_t2w),
        },
        "gap_published_over_scaled": {
            "llm": pub["llm"] / scaled_llm,
            "token2wav": pub["token2wav"] / scaled_t2w,
            "total": pub["total"] / (scaled_llm + scaled_t2w),
        },
        "caveats": [
            "published RTF is zero-shot: the LLM prefill and the flow decoder also cover the prompt; no prompt here",
            "published token2wav runs TensorRT; the scaled figure assumes this machine's torch efficiency carries over",
            f"mel frames include a {TOKEN_MEL_RATIO}x token upsampling; attention FLOPs added analytically",
            "L20 figures come from the cost catalog; its 'verified' flag says whether they were re-checked",
        ],
    }
    if eff_bw > 1 or eff_compute > 1:
        result_doc["caveats"].append(
            "an efficiency above 100% means the peak measured here was disturbed (shared or busy machine); "
            "it is capped at 100%, so 'scaled' equals 'ideal' for that stage"
        )
        print("note: measured peak below achieved rate (busy machine); efficiency capped at 100%")
    engine.close()
    del engine
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    _print(result_doc)
    write_json(out, result_doc)
    print(f"wrote {out}")
    return result_doc


def _print(doc: dict[str, Any]) -> None:
    here, l20, pub = doc["here"], doc["l20"], doc["published"]
    print(
        f"load model '{doc['preset']}' {doc['precision']} on {doc['torch_device']}: {doc['audio_s']:.2f} s audio, "
        f"{doc['tokens']} tokens, {doc['mel_frames']} mel frames"
    )
    print(
        f"here: LLM {here['ms_per_token']:.1f} ms/token ({here['achieved_bandwidth_gbs']:.1f} GB/s of "
        f"{here['measured_peak_bandwidth_gbs']:.1f} measured copy bandwidth = {here['bandwidth_efficiency']:.0%}); "
        f"token2wav {here['token2wav_gflop_per_audio_s']:.0f} GFLOP per audio s at {here['achieved_tflops']:.3f} "
        f"TFLOP/s of {here['measured_peak_tflops']:.3f} measured = {here['compute_efficiency']:.0%}"
    )
    print(f"{'RTF at batch 1':<34} {'LLM':>8} {'token2wav':>10} {'total':>8}")
    rows = [
        ("this machine (measured)", here["rtf_llm"], here["rtf_token2wav"], here["rtf_total"]),
        ("L20 ideal roofline", l20["ideal"]["rtf_llm"], l20["ideal"]["rtf_token2wav"], l20["ideal"]["rtf_total"]),
        (
            "L20 scaled by this efficiency",
            l20["scaled"]["rtf_llm"],
            l20["scaled"]["rtf_token2wav"],
            l20["scaled"]["rtf_total"],
        ),
        ("L20 published (TensorRT-LLM)", pub["llm"], pub["token2wav"], pub["total"]),
    ]
    for label, a, b, c in rows:
        print(f"{label:<34} {a:>8.4f} {b:>10.4f} {c:>8.4f}")
    gi, gs = doc["gap_published_over_ideal"], doc["gap_published_over_scaled"]
    print(
        f"gap published/ideal: LLM {gi['llm']:.1f}x, token2wav {gi['token2wav']:.1f}x, total {gi['total']:.1f}x; "
        f"published/scaled: LLM {gs['llm']:.2f}x, token2wav {gs['token2wav']:.2f}x, total {gs['total']:.2f}x"
    )


if __name__ == "__main__":
    import sys

    from benchmarks.cli import main

    sys.argv.insert(1, "roofline")
    main()
