"""Shapes of the GPU load model (no torch import): CosyVoice3's real sizes (`full`) and a CPU-sized `tiny`.

`full` copies FunAudioLLM/CosyVoice examples/libritts/cosyvoice3/conf/cosyvoice3.yaml (read 2025-11): the LLM is a
Qwen2.5-0.5B encoder (hidden 896, 24 layers, 14 query / 2 KV heads, MLP 4864, text vocabulary 151936) with a speech
head of 6561 FSQ tokens + 200 special tokens at 25 Hz; the flow decoder is a DiT (dim 1024, depth 22, 16 heads of 64,
ff_mult 2) over 80-bin mels at 50 Hz (token_mel_ratio 2), Euler solver with classifier-free guidance (rate 0.7);
the vocoder is a HiFT generator (base channels 512, upsample 8x5x3, iSTFT n_fft 16 hop 4: 480 samples per mel frame
-> 24 kHz). The `n_timesteps` default of 10 is CosyVoice's inference default.
"""

from __future__ import annotations

from dataclasses import dataclass

SAMPLE_RATE = 24_000
TOKEN_RATE_HZ = 25  # speech tokens per audio second
TOKEN_MEL_RATIO = 2  # mel frames per speech token -> 50 Hz mels
MEL_BINS = 80
SPEECH_TOKENS = 6561  # FSQ codebook; the LLM head adds 200 special tokens


@dataclass(frozen=True)
class LlmShape:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    text_vocab: int
    speech_vocab: int = SPEECH_TOKENS + 200
    rope_theta: float = 1_000_000.0
    rms_eps: float = 1e-6

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads


@dataclass(frozen=True)
class FlowShape:
    dim: int
    depth: int
    heads: int
    head_dim: int
    ff_mult: int
    lookahead_channels: int
    spk_embed_dim: int = 192
    cfg_rate: float = 0.7


@dataclass(frozen=True)
class VocoderShape:
    base_channels: int
    upsample_rates: tuple[int, ...] = (8, 5, 3)
    upsample_kernels: tuple[int, ...] = (16, 11, 7)
    resblock_kernels: tuple[int, ...] = (3, 7, 11)
    resblock_dilations: tuple[int, ...] = (1, 3, 5)
    n_fft: int = 16
    hop: int = 4

    @property
    def samples_per_frame(self) -> int:
        total = self.hop
        for rate in self.upsample_rates:
            total *= rate
        return total


@dataclass(frozen=True)
class LoadModelShape:
    name: str
    llm: LlmShape
    flow: FlowShape
    vocoder: VocoderShape


PRESETS: dict[str, LoadModelShape] = {
    "full": LoadModelShape(
        name="full",
        llm=LlmShape(hidden=896, layers=24, heads=14, kv_heads=2, intermediate=4864, text_vocab=151_936),
        flow=FlowShape(dim=1024, depth=22, heads=16, head_dim=64, ff_mult=2, lookahead_channels=1024),
        vocoder=VocoderShape(base_channels=512),
    ),
    # Same structure and rates (25 Hz tokens, 50 Hz mels, 24 kHz audio), a few hundred thousand parameters:
    # fast enough for CI on a shared 2-core CPU.
    "tiny": LoadModelShape(
        name="tiny",
        llm=LlmShape(hidden=64, layers=2, heads=4, kv_heads=2, intermediate=128, text_vocab=1024),
        flow=FlowShape(dim=64, depth=2, heads=4, head_dim=16, ff_mult=2, lookahead_channels=64),
        vocoder=VocoderShape(base_channels=32),
    ),
}
