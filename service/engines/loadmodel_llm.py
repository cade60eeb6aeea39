"""The load model's speech-token LLM: a Qwen2-shaped decoder-only transformer with a static KV cache.

Imported only from LoadModelEngine.load() (torch is heavy). Random weights: the point is the arithmetic and the
memory traffic of CosyVoice3's LLM (prefill of text + prompt tokens, then one token per step, batched), not speech.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812 - the conventional alias
from torch import nn

from service.engines.loadmodel_shapes import LlmShape


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class _Rope(nn.Module):
    inv_freq: torch.Tensor

    def __init__(self, head_dim: int, theta: float) -> None:
        super().__init__()
        inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        self.register_buffer("inv_freq", inv, persistent=False)

    def forward(self, positions: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """positions [B, T] -> cos, sin [B, 1, T, head_dim]."""
        freqs = positions.to(torch.float32)[..., None] * self.inv_freq
        emb = torch.cat((freqs, freqs), dim=-1)[:, None]
        return emb.cos().to(dtype), emb.sin().to(dtype)


class _DecoderLayer(nn.Module):
    def __init__(self, s: LlmShape) -> None:
        super().__init__()
        self.s = s
        kv = s.kv_heads * s.head_dim
        self.input_norm = nn.RMSNorm(s.hidden, eps=s.rms_eps)
        self.q_proj = nn.Linear(s.hidden, s.hidden, bias=True)
        self.k_proj = nn.Linear(s.hidden, kv, bias=True)
        self.v_proj = nn.Linear(s.hidden, kv, bias=True)
        self.o_proj = nn.Linear(s.hidden, s.hidden, bias=False)
        self.post_norm = nn.RMSNorm(s.hidden, eps=s.rms_eps)
        self.gate = nn.Linear(s.hidden, s.intermediate, bias=False)
        self.up = nn.Linear(s.hidden, s.intermediate, bias=False)
        self.down = nn.Linear(s.intermediate, s.hidden, bias=False)

    def forward(
        self,
        x: torch.Tensor,
        rope: tuple[torch.Tensor, torch.Tensor],
        k_cache: torch.Tensor,
        v_cache: torch.Tensor,
        start: int,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        """x [B, T, H]; writes this step's keys/values at [start, start+T) of the caches [B, KV, max_len, D]."""
        b, t, _ = x.shape
        s = self.s
        h = self.input_norm(x)
        q = self.q_proj(h).view(b, t, s.heads, s.head_dim).transpose(1, 2)
        k = self.k_proj(h).view(b, t, s.kv_heads, s.head_dim).transpose(1, 2)
        v = self.v_proj(h).view(b, t, s.kv_heads, s.head_dim).transpose(1, 2)
        cos, sin = rope
        q = q * cos + _rotate_half(q) * sin
        k = k * cos + _rotate_half(k) * sin
        k_cache[:, :, start : start + t] = k
        v_cache[:, :, start : start + t] = v
        keys = k_cache[:, :, : start + t]
        values = v_cache[:, :, : start + t]
        attn = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask, enable_gqa=True)
        x = x + self.o_proj(attn.transpose(1, 2).reshape(b, t, s.hidden))
        h = self.post_norm(x)
        out: torch.Tensor = x + self.down(F.silu(self.gate(h)) * self.up(h))
        return out


class SpeechTokenLM(nn.Module):
    """Text (+ prompt speech tokens) in, `n_tokens[i]` speech tokens out per sequence, greedy, batched."""

    def __init__(self, s: LlmShape) -> None:
        super().__init__()
        self.s = s
        self.text_embed = nn.Embedding(s.text_vocab, s.hidden)
        self.speech_embed = nn.Embedding(s.speech_vocab, s.hidden)
        self.layers = nn.ModuleList(_DecoderLayer(s) for _ in range(s.layers))
        self.norm = nn.RMSNorm(s.hidden, eps=s.rms_eps)
        self.head = nn.Linear(s.hidden, s.speech_vocab)
        self.rope = _Rope(s.head_dim, s.rope_theta)

    def decode_weight_bytes(self) -> int:
        """Bytes of weights read per decode step (every layer, norm and head; one embedding row is negligible)."""
        mods: list[nn.Module] = [*self.layers, self.norm, self.head]
        return sum(p.numel() * p.element_size() for m in mods for p in m.parameters())

    def generate(self, prefix: list[tuple[list[int], int]], n_tokens: list[int]) -> torch.Tensor:
        """prefix[i] = (text token ids, number of prompt speech tokens); returns [B, max(n_tokens)] speech tokens.

        Sequences are left-padded so every step writes the same cache column; padded keys are masked out. The batch
        decodes until its longest request is done (static batching), each request keeps its own first n tokens.
        """
        s = self.s
        device = self.head.weight.device
        dtype = self.head.weight.dtype
        b = len(prefix)
        lengths = [len(text) + n_prompt for text, n_prompt in prefix]
        t = max(lengths)
        steps = max(n_tokens)
        ids = torch.zeros(b, t, dtype=torch.long)
        is_speech = torch.zeros(b, t, dtype=torch.bool)
        valid = torch.zeros(b, t, dtype=torch.bool)
        for i, (text, n_prompt) in enumerate(prefix):
            pad = t - lengths[i]
            ids[i, pad : pad + len(text)] = torch.tensor(text, dtype=torch.long) % s.text_vocab
            # Prompt speech tokens stand in for the reference clip's tokens (ids are arbitrary but deterministic).
            ids[i, pad + len(text) :] = torch.arange(n_prompt) % (s.speech_vocab - 200)
            is_speech[i, pad + len(text) :] = True
            valid[i, pad:] = True
        ids, is_speech, valid = ids.to(device), is_speech.to(device), valid.to(device)
        zero = torch.zeros_like(ids)
        speech = self.speech_embed(torch.where(is_speech, ids, zero))
        x = torch.where(is_speech[..., None], speech, self.text_embed(torch.where(is_speech, zero, ids)))
        max_len = t + steps
        k_caches = [torch.empty(b, s.kv_heads, max_len, s.head_dim, device=device, dtype=dtype) for _ in self.layers]
        v_caches = [torch.empty_like(c) for c in k_caches]
        key_valid = torch.cat([valid, torch.ones(b, steps, dtype=torch.bool, device=device)], dim=1)
        positions = (valid.long().cumsum(dim=1) - 1).clamp(min=0)
        # Prefill: causal over real tokens; a pad row may see itself so no attention row is empty (NaN-free).
        idx = torch.arange(t, device=device)
        causal = idx[None, :] <= idx[:, None]
        mask = (causal[None] & (valid[:, None, :] | torch.eye(t, dtype=torch.bool, device=device)[None]))[:, None]
        out = torch.empty(b, steps, dtype=torch.long, device=device)
        next_pos = positions[:, -1:] + 1
        for step in range(steps):
            rope = self.rope(positions, dtype)
            start = 0 if step == 0 else t + step - 1
            for layer, kc, vc in zip(self.layers, k_caches, v_caches, strict=True):
                x = layer(x, rope, kc, vc, start, mask)
            logits = self.head(self.norm(x[:, -1]))
            token = logits.argmax(dim=-1)
            out[:, step] = token
            x = self.speech_embed(token)[:, None]
            positions = next_pos + step
            mask = key_valid[:, None, None, : t + step + 1]
        return out
