"""Engine `loadmodel`: CosyVoice3's shapes with random weights, to measure batching, memory and throughput on any
GPU without downloading a model. Its output is NOT speech (capabilities.is_speech is False); the service refuses it
unless TTS_ALLOW_LOADMODEL=true.

Pipeline per batch (shapes in loadmodel_shapes.py): a Qwen2-shaped LLM prefills text (+ prompt speech tokens) and
decodes 25 speech tokens per audio second with a KV cache, greedy, batched; a DiT flow decoder turns tokens into
80-bin mels at 50 Hz in 10 Euler steps with classifier-free guidance; a HiFT-like vocoder makes 24 kHz audio.
torch is imported in load(), never at module import, so the service starts fast without it.
"""

from __future__ import annotations

import os
import re
import threading
import time
import unicodedata
import zlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from service.engines.base import (
    Capabilities,
    Engine,
    EngineError,
    EngineNotReadyError,
    EngineOutOfMemoryError,
    MemoryReport,
    SynthesisRequest,
    SynthesisResult,
)
from service.engines.loadmodel_shapes import PRESETS, SAMPLE_RATE, TOKEN_MEL_RATIO, TOKEN_RATE_HZ, LoadModelShape

if TYPE_CHECKING:
    import torch

    from service.engines.loadmodel_audio import FlowDecoder, Vocoder
    from service.engines.loadmodel_llm import SpeechTokenLM

_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?)$")
# Speaking-rate heuristic that sets how much audio a text "takes" (not a measurement): about 4.5 syllables per
# second, i.e. ~0.22 s per CJK character or kana/hangul syllable, ~0.065 s per Latin letter or digit, and a 0.2 s
# pause per punctuation mark. It only needs to make duration grow with text length the way speech does.
_CJK_S, _LATIN_S, _PAUSE_S, _MIN_S = 0.22, 0.065, 0.2, 0.4
OUTPUT_PEAK = 0.3  # random weights give full-scale noise; keep it quiet for anyone who plays it


def estimate_seconds(text: str, speed: float = 1.0) -> float:
    """Audio seconds the load model produces for `text` (heuristic above), divided by `speed`."""
    total = 0.0
    for ch in text:
        if ch.isspace():
            continue
        name = unicodedata.name(ch, "")
        if name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL")):
            total += _CJK_S
        elif unicodedata.category(ch).startswith("P"):
            total += _PAUSE_S
        else:
            total += _LATIN_S
    return max(total, _MIN_S) / speed


@dataclass(frozen=True)
class StageTimings:
    """Wall seconds per stage of one batch (CUDA synchronized at each boundary), and the work each did."""

    llm_s: float
    flow_s: float
    vocoder_s: float
    batch: int
    tokens: int  # speech tokens decoded per sequence (the batch's longest)
    frames: int  # mel frames per sequence, prompt included (the batch's longest)

    @property
    def total_s(self) -> float:
        return self.llm_s + self.flow_s + self.vocoder_s


StageContext = Callable[[str], AbstractContextManager[Any]]


class LoadModelEngine(Engine):
    """`LoadModelEngine(preset="tiny"|"full", device="cpu"|"cuda"|"cuda:N", fp16=False, seed=0)`."""

    # Random weights have no speakers: one built-in name so HTTP load tests (tts-bench load/overhead/soak) can call
    # it like any engine without uploading a prompt; a prompt, when given, is still run through the same shapes.
    builtin_voices: tuple[str, ...] = ("default",)

    def __init__(
        self,
        preset: str = "tiny",
        device: str = "cpu",
        fp16: bool = False,
        seed: int = 0,
        n_timesteps: int = 10,
        max_audio_s: float = 60.0,
    ) -> None:
        if preset not in PRESETS:
            raise ValueError(f"unknown loadmodel preset '{preset}' (use one of: {', '.join(sorted(PRESETS))})")
        if not _DEVICE.match(device):
            raise ValueError(f"device '{device}' is not 'cpu', 'cuda' or 'cuda:N'")
        if n_timesteps < 1:
            raise ValueError(f"n_timesteps must be >= 1, got {n_timesteps}")
        self.shape: LoadModelShape = PRESETS[preset]
        self.device = device
        self.fp16 = fp16
        self.seed = seed
        self.n_timesteps = n_timesteps
        self.max_audio_s = max_audio_s
        self.last_timings: StageTimings | None = None
        self._lock = threading.Lock()
        self._llm: SpeechTokenLM | None = None
        self._flow: FlowDecoder | None = None
        self._vocoder: Vocoder | None = None
        self._spk: torch.Tensor | None = None
        self.capabilities = Capabilities(
            name="loadmodel",
            languages=("zh", "yue", "en", "ja", "ko"),
            sample_rate=SAMPLE_RATE,
            batching=True,
            is_speech=False,
            notes=(
                "Load model for GPU benchmarks: CosyVoice3's shapes with random weights. The output is noise, not "
                "speech; never present it as a voice.",
                f"preset={preset}, precision={'fp16' if fp16 else 'fp32'}, device={device}",
            ),
        )

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def load(self) -> None:
        import torch

        from service.engines.loadmodel_audio import FlowDecoder, Vocoder
        from service.engines.loadmodel_llm import SpeechTokenLM

        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise EngineError(f"device '{self.device}' requested but torch sees no CUDA GPU (use device='cpu')")
        if self.fp16 and not self.device.startswith("cuda"):
            raise EngineError("fp16 needs a CUDA device; on CPU use fp16=False")
        dtype = torch.float16 if self.fp16 else torch.float32
        # fork_rng: seeding for reproducible weights must not disturb the caller's global RNG.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            llm, flow, vocoder = (
                SpeechTokenLM(self.shape.llm),
                FlowDecoder(self.shape.flow),
                Vocoder(self.shape.vocoder),
            )
            for module in (llm, flow):
                # GPT-style small init keeps 24 + 22 random layers inside fp16 range.
                for p in module.parameters():
                    if p.dim() >= 2:
                        torch.nn.init.normal_(p, std=0.02)
                    else:
                        torch.nn.init.zeros_(p)
            self._spk = torch.randn(1, self.shape.flow.spk_embed_dim).to(self.device, dtype)
        try:
            self._llm = llm.to(self.device, dtype).eval().requires_grad_(False)
            self._flow = flow.to(self.device, dtype).eval().requires_grad_(False)
            self._vocoder = vocoder.to(self.device, dtype).eval().requires_grad_(False)
        except torch.cuda.OutOfMemoryError as exc:
            self._llm = self._flow = self._vocoder = None
            torch.cuda.empty_cache()
            raise EngineError(f"the '{self.shape.name}' load model does not fit on {self.device}: {exc}") from exc

    @property
    def loaded(self) -> bool:
        return self._vocoder is not None

    def parameter_counts(self) -> dict[str, int]:
        """Parameters per stage (llm, flow, vocoder)."""
        llm, flow, vocoder = self._modules()
        return {
            name: sum(p.numel() for p in m.parameters())
            for name, m in (("llm", llm), ("flow", flow), ("vocoder", vocoder))
        }

    def decode_weight_bytes(self) -> int:
        """Weight bytes the LLM reads per decode step (the memory-bandwidth bound of decoding)."""
        return self._modules()[0].decode_weight_bytes()

    def _modules(self) -> tuple[SpeechTokenLM, FlowDecoder, Vocoder]:
        if self._llm is None or self._flow is None or self._vocoder is None:
            raise EngineNotReadyError("the loadmodel engine is not loaded; call load() first")
        return self._llm, self._flow, self._vocoder

    # -- synthesis ---------------------------------------------------------------------------------------------
    def synthesize_batch(self, requests: Sequence[SynthesisRequest]) -> list[SynthesisResult]:
        return self.synthesize_batch_profiled(requests)[0]

    def synthesize_batch_profiled(
        self, requests: Sequence[SynthesisRequest], stage_context: StageContext | None = None
    ) -> tuple[list[SynthesisResult], StageTimings]:
        """As synthesize_batch, plus per-stage timings; `stage_context(name)` wraps each stage (e.g. a FLOP counter)."""
        import torch

        self._modules()
        if not requests:
            return [], StageTimings(0.0, 0.0, 0.0, 0, 0, 0)
        plans = [self._plan(r) for r in requests]
        with self._lock, torch.inference_mode():
            try:
                results, timings = self._run(requests, plans, stage_context)
            except torch.cuda.OutOfMemoryError as exc:
                torch.cuda.empty_cache()
                raise EngineOutOfMemoryError(
                    f"out of GPU memory on a batch of {len(requests)} (caches freed; retry with a smaller batch)"
                ) from exc
        self.last_timings = timings
        return results, timings

    def _plan(self, request: SynthesisRequest) -> tuple[list[int], int, int]:
        """(text token ids, prompt speech tokens, speech tokens to generate) for one request."""
        text = request.text.strip()
        if not text:
            raise EngineError("text is empty; the load model needs at least one character")
        if request.speed <= 0:
            raise EngineError(f"speed must be > 0, got {request.speed}")
        seconds = estimate_seconds(text, request.speed)
        if seconds > self.max_audio_s:
            raise EngineError(
                f"text would take {seconds:.1f} s of audio; the load model caps a request at {self.max_audio_s:.0f} s"
            )
        prompt_tokens = 0
        if request.prompt is not None and request.prompt.sample_rate > 0:
            prompt_tokens = round(len(request.prompt.audio) / request.prompt.sample_rate * TOKEN_RATE_HZ)
        # One text token per character stands in for Qwen's BPE (about one token per CJK character).
        return [ord(ch) for ch in text], prompt_tokens, max(1, round(seconds * TOKEN_RATE_HZ))

    def _run(
        self,
        requests: Sequence[SynthesisRequest],
        plans: list[tuple[list[int], int, int]],
        stage_context: StageContext | None,
    ) -> tuple[list[SynthesisResult], StageTimings]:
        import torch

        llm, flow, vocoder = self._modules()
        assert self._spk is not None
        ctx: StageContext = stage_context or (lambda _name: nullcontext())
        b = len(plans)
        n_tokens = [n for _, _, n in plans]
        t0 = time.perf_counter()
        with ctx("llm"):
            generated = llm.generate([(text, n_prompt) for text, n_prompt, _ in plans], n_tokens)
            self._sync()
        t1 = time.perf_counter()
        # Flow input per request: prompt tokens then its own generated tokens, right-padded to the longest.
        lengths = [n_prompt + n for _, n_prompt, n in plans]
        width = max(lengths)
        tokens = torch.zeros(b, width, dtype=torch.long, device=generated.device)
        frame_valid = torch.zeros(b, width * TOKEN_MEL_RATIO, dtype=torch.bool, device=generated.device)
        for i, (_, n_prompt, n) in enumerate(plans):
            tokens[i, :n_prompt] = torch.arange(n_prompt, device=generated.device)
            tokens[i, n_prompt : n_prompt + n] = generated[i, :n]
            frame_valid[i, : lengths[i] * TOKEN_MEL_RATIO] = True
        noise = torch.stack([self._noise(r.text, width * TOKEN_MEL_RATIO) for r in requests]).to(generated.device)
        with ctx("flow"):
            mels = flow(
                tokens,
                frame_valid,
                [n_prompt * TOKEN_MEL_RATIO for _, n_prompt, _ in plans],
                self._spk.expand(b, -1),
                noise.to(self._spk.dtype),
                self.n_timesteps,
            )
            self._sync()
        t2 = time.perf_counter()
        with ctx("vocoder"):
            audio = vocoder(mels.transpose(1, 2))
            self._sync()
        t3 = time.perf_counter()
        spf = vocoder.s.samples_per_frame
        results = []
        for i, (_, n_prompt, n) in enumerate(plans):
            start = n_prompt * TOKEN_MEL_RATIO * spf  # the prompt's audio is not part of the answer
            clip = audio[i, start : start + n * TOKEN_MEL_RATIO * spf]
            results.append(self._finish(clip))
        timings = StageTimings(t1 - t0, t2 - t1, t3 - t2, b, max(n_tokens), width * TOKEN_MEL_RATIO)
        return results, timings

    def _noise(self, text: str, frames: int) -> torch.Tensor:
        import torch

        # Seeded per text, so a request gets the same starting noise alone or in any batch.
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + zlib.crc32(text.encode()))
        return torch.randn(frames, 80, generator=g)

    def _finish(self, clip: torch.Tensor) -> SynthesisResult:
        import torch

        notes: tuple[str, ...] = ("loadmodel output: noise from random weights, not speech",)
        samples = clip.float()
        if not bool(torch.isfinite(samples).all()):
            samples = torch.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
            notes += ("non-finite samples (NaN/Inf) were replaced by 0",)
        peak = float(samples.abs().max()) if samples.numel() else 0.0
        if peak > 0:
            samples = samples * (OUTPUT_PEAK / peak)
        audio = samples.cpu().numpy().astype(np.float32, copy=False)
        return SynthesisResult(audio=audio, sample_rate=SAMPLE_RATE, notes=notes)

    def _sync(self) -> None:
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize(self.device)

    # -- memory ------------------------------------------------------------------------------------------------
    def release(self) -> None:
        if self.loaded and self.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()

    def memory_report(self) -> MemoryReport:
        rss = _rss_bytes()
        if not (self.loaded and self.device.startswith("cuda")):
            return MemoryReport(rss_bytes=rss)
        import torch

        dev = torch.device(self.device)
        return MemoryReport(
            rss_bytes=rss,
            gpu_allocated_bytes=torch.cuda.memory_allocated(dev),
            gpu_reserved_bytes=torch.cuda.memory_reserved(dev),
            gpu_total_bytes=torch.cuda.get_device_properties(dev).total_memory,
            extra={"gpu_max_allocated_bytes": float(torch.cuda.max_memory_allocated(dev))},
        )

    def close(self) -> None:
        was_cuda = self.loaded and self.device.startswith("cuda")
        self._llm = self._flow = self._vocoder = self._spk = None
        if was_cuda:
            import torch

            torch.cuda.empty_cache()


def _rss_bytes() -> int:
    """Resident set size of this process (Linux /proc; 0 where it is not available)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")
