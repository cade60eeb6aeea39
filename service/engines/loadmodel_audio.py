"""The load model's token-to-waveform half: a DiT flow-matching decoder (tokens -> 80-bin mels at 50 Hz) and a
HiFT-like convolutional vocoder (mels -> 24 kHz through transposed convolutions and a small iSTFT).

Imported only from LoadModelEngine.load(). Random weights: the arithmetic of CosyVoice3's token2wav, not a voice.
Left out because they cost little next to the rest: the NSF harmonic source and F0 predictor of HiFT, the DiT's
convolutional position embedding, and the speaker-embedding network (a fixed random speaker vector is used).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812 - the conventional alias
from torch import nn

from service.engines.loadmodel_shapes import MEL_BINS, SPEECH_TOKENS, TOKEN_MEL_RATIO, FlowShape, VocoderShape


class _DiTBlock(nn.Module):
    """Pre-norm transformer block with adaLN modulation from the flow time step (as in CosyVoice3's DiT)."""

    def __init__(self, s: FlowShape) -> None:
        super().__init__()
        self.s = s
        inner = s.heads * s.head_dim
        self.modulation = nn.Linear(s.dim, 6 * s.dim)
        self.norm1 = nn.LayerNorm(s.dim, elementwise_affine=False, eps=1e-6)
        self.qkv = nn.Linear(s.dim, 3 * inner)
        self.out = nn.Linear(inner, s.dim)
        self.norm2 = nn.LayerNorm(s.dim, elementwise_affine=False, eps=1e-6)
        self.ff = nn.Sequential(
            nn.Linear(s.dim, s.dim * s.ff_mult), nn.GELU("tanh"), nn.Linear(s.dim * s.ff_mult, s.dim)
        )

    def forward(self, x: torch.Tensor, t_emb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(F.silu(t_emb))[:, None].chunk(6, dim=-1)
        h = self.norm1(x) * (1 + scale1) + shift1
        q, k, v = self.qkv(h).view(b, n, 3, self.s.heads, self.s.head_dim).permute(2, 0, 3, 1, 4)
        attn = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = x + gate1 * self.out(attn.transpose(1, 2).reshape(b, n, -1))
        h = self.norm2(x) * (1 + scale2) + shift2
        out: torch.Tensor = x + gate2 * self.ff(h)
        return out


class FlowDecoder(nn.Module):
    """Speech tokens -> mels: token embedding, pre-lookahead convs, x2 upsampling, then `n_steps` Euler steps of
    a DiT estimator with classifier-free guidance (conditional and unconditional halves in one batch)."""

    def __init__(self, s: FlowShape) -> None:
        super().__init__()
        self.s = s
        self.token_embed = nn.Embedding(SPEECH_TOKENS, MEL_BINS)
        self.lookahead1 = nn.Conv1d(MEL_BINS, s.lookahead_channels, kernel_size=4)  # 3 tokens of look-ahead
        self.lookahead2 = nn.Conv1d(s.lookahead_channels, MEL_BINS, kernel_size=3, padding=1)
        self.spk_affine = nn.Linear(s.spk_embed_dim, MEL_BINS)
        # x, mu, prompt condition and speaker: 4 x 80 channels in.
        self.in_proj = nn.Linear(4 * MEL_BINS, s.dim)
        self.time_mlp = nn.Sequential(nn.Linear(256, s.dim), nn.SiLU(), nn.Linear(s.dim, s.dim))
        self.blocks = nn.ModuleList(_DiTBlock(s) for _ in range(s.depth))
        self.norm_out = nn.LayerNorm(s.dim, elementwise_affine=False, eps=1e-6)
        self.out_modulation = nn.Linear(s.dim, 2 * s.dim)
        self.proj_out = nn.Linear(s.dim, MEL_BINS)

    def _time_embedding(self, t: torch.Tensor) -> torch.Tensor:
        half = 128
        freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
        args = 1000.0 * t.float()[:, None] * freqs[None]
        emb = torch.cat((args.sin(), args.cos()), dim=-1).to(self.in_proj.weight.dtype)
        out: torch.Tensor = self.time_mlp(emb)
        return out

    def _estimate(
        self,
        x: torch.Tensor,
        mu: torch.Tensor,
        cond: torch.Tensor,
        spk: torch.Tensor,
        t: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        n = x.shape[1]
        h = self.in_proj(torch.cat((x, mu, cond, spk[:, None].expand(-1, n, -1)), dim=-1))
        t_emb = self._time_embedding(t)
        for block in self.blocks:
            h = block(h, t_emb, mask)
        shift, scale = self.out_modulation(F.silu(t_emb))[:, None].chunk(2, dim=-1)
        out: torch.Tensor = self.proj_out(self.norm_out(h) * (1 + scale) + shift)
        return out

    def forward(
        self,
        tokens: torch.Tensor,
        frame_valid: torch.Tensor,
        prompt_frames: list[int],
        spk: torch.Tensor,
        noise: torch.Tensor,
        n_steps: int,
    ) -> torch.Tensor:
        """tokens [B, N] (prompt + generated), frame_valid [B, 2N] bool, noise [B, 2N, 80] -> mels [B, 2N, 80]."""
        emb = self.token_embed(tokens % SPEECH_TOKENS).transpose(1, 2)
        h = F.leaky_relu(self.lookahead1(F.pad(emb, (0, 3))), 0.1)
        mu = (emb + self.lookahead2(h)).transpose(1, 2).repeat_interleave(TOKEN_MEL_RATIO, dim=1)
        cond = torch.zeros_like(mu)
        for i, frames in enumerate(prompt_frames):
            # The reference clip's mels condition the prompt part; stand-in values, same arithmetic.
            cond[i, :frames] = mu[i, :frames]
        spk_mel = self.spk_affine(spk)
        b = tokens.shape[0]
        key_mask = frame_valid[:, None, None, :].repeat(2, 1, 1, 1)
        zeros = torch.zeros_like(mu)
        x = noise
        # CosyVoice's cosine time schedule for the Euler solver.
        t_span = 1 - torch.cos(torch.linspace(0, 1, n_steps + 1, device=x.device) * 0.5 * math.pi)
        for step in range(n_steps):
            t, dt = t_span[step], t_span[step + 1] - t_span[step]
            v = self._estimate(
                torch.cat((x, x)),
                torch.cat((mu, zeros)),
                torch.cat((cond, zeros)),
                torch.cat((spk_mel, torch.zeros_like(spk_mel))),
                t.expand(2 * b),
                key_mask,
            )
            v_cond, v_uncond = v.chunk(2)
            x = x + dt.to(x.dtype) * ((1 + self.s.cfg_rate) * v_cond - self.s.cfg_rate * v_uncond)
        return x


class _ResBlock(nn.Module):
    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel, dilation=d, padding=d * (kernel - 1) // 2) for d in dilations
        )
        self.convs2 = nn.ModuleList(nn.Conv1d(channels, channels, kernel, padding=(kernel - 1) // 2) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2, strict=True):
            x = x + c2(F.leaky_relu(c1(F.leaky_relu(x, 0.1)), 0.1))
        return x


class _Stage(nn.Module):
    """Multi-receptive-field fusion: the mean of residual blocks with different kernel sizes."""

    def __init__(self, channels: int, kernels: tuple[int, ...], dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(_ResBlock(channels, k, dilations) for k in kernels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sum((block(x) for block in self.blocks), torch.zeros_like(x)) / len(self.blocks)


class Vocoder(nn.Module):
    """HiFT-like: conv_pre, three transposed-conv upsamplings (8, 5, 3) with multi-receptive-field residual blocks,
    conv_post to magnitude + phase, then an iSTFT (n_fft 16, hop 4): 480 samples per 50 Hz mel frame = 24 kHz."""

    window: torch.Tensor

    def __init__(self, s: VocoderShape) -> None:
        super().__init__()
        self.s = s
        c = s.base_channels
        self.conv_pre = nn.Conv1d(MEL_BINS, c, 7, padding=3)
        self.ups = nn.ModuleList()
        self.stages = nn.ModuleList()
        for i, (rate, kernel) in enumerate(zip(s.upsample_rates, s.upsample_kernels, strict=True)):
            c_in, c_out = c // 2**i, c // 2 ** (i + 1)
            self.ups.append(nn.ConvTranspose1d(c_in, c_out, kernel, stride=rate, padding=(kernel - rate) // 2))
            self.stages.append(_Stage(c_out, s.resblock_kernels, s.resblock_dilations))
        self.conv_post = nn.Conv1d(c // 2 ** len(s.upsample_rates), s.n_fft + 2, 7, padding=3)
        self.register_buffer("window", torch.hann_window(s.n_fft), persistent=False)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """mel [B, 80, F] -> audio [B, F * 480] float32."""
        frames = mel.shape[-1]
        x = self.conv_pre(mel)
        for up, stage in zip(self.ups, self.stages, strict=True):
            x = stage(up(F.leaky_relu(x, 0.1)))
        x = self.conv_post(F.leaky_relu(x, 0.1)).float()
        bins = self.s.n_fft // 2 + 1
        magnitude = torch.exp(x[:, :bins]).clamp(max=1e2)
        phase = torch.sin(x[:, bins:])
        spec = torch.polar(magnitude, phase)
        audio = torch.istft(
            spec,
            self.s.n_fft,
            self.s.hop,
            self.s.n_fft,
            window=self.window.float(),
            length=frames * self.s.samples_per_frame,
        )
        return audio
