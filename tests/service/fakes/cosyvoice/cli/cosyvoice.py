"""Fake `cosyvoice.cli.cosyvoice`: AutoModel and CosyVoice3 with the real signatures.

It records every call (FakeLog) and returns torch tensors shaped [1, T] at 24 kHz, with a length proportional to
the text, so the adapter's formatting, mode selection, tensor handling and failure guards can be checked. Knobs:
`FakeLog.nan_when_fp16` makes fp16 output NaN (CosyVoice issues #1930/#1822), `FakeLog.oom_next` raises a
torch.cuda.OutOfMemoryError on the next inference.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import soundfile as sf
import torch


@dataclass
class FakeLog:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)
    nan_when_fp16: bool = False
    oom_next: bool = False


LOG = FakeLog()


def _read_prompt(prompt_wav: Any) -> tuple[int, int]:
    """Like CosyVoice's load_wav: a path or a file object, >= 16 kHz."""
    data, rate = sf.read(prompt_wav)
    if rate < 16000:
        raise AssertionError(f"prompt sample rate {rate} < 16000")
    return len(data), rate


class CosyVoice3:
    def __init__(
        self,
        model_dir: str,
        load_trt: bool = False,
        load_vllm: bool = False,
        fp16: bool = False,
        trt_concurrent: int = 1,
    ) -> None:
        if not Path(model_dir).is_dir():
            raise AssertionError(f"the real package would download {model_dir} from ModelScope here")
        self.model_dir = model_dir
        self.fp16 = fp16
        self.sample_rate = 24000
        self.spks: dict[str, tuple[str, int]] = {}
        LOG.models.append({"model_dir": model_dir, "fp16": fp16, "load_trt": load_trt, "load_vllm": load_vllm})

    def _speech(self, tts_text: str, stream: bool, speed: float) -> Iterator[dict[str, torch.Tensor]]:
        if LOG.oom_next:
            LOG.oom_next = False
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        # 0.2 s of tone per character, divided by speed; streamed as 3 chunks.
        samples = int(len(tts_text) * 0.2 * self.sample_rate / speed)
        t = torch.arange(samples, dtype=torch.float32) / self.sample_rate
        wave = 0.3 * torch.sin(2 * torch.pi * 220 * t)
        if self.fp16 and LOG.nan_when_fp16:
            wave = torch.full_like(wave, float("nan"))
        pieces = torch.chunk(wave, 3) if stream else (wave,)
        for piece in pieces:
            yield {"tts_speech": piece.unsqueeze(0)}

    def add_zero_shot_spk(self, prompt_text: str, prompt_wav: Any, zero_shot_spk_id: str) -> bool:
        frames, _ = _read_prompt(prompt_wav)
        self.spks[zero_shot_spk_id] = (prompt_text, frames)
        LOG.calls.append(("add_zero_shot_spk", {"prompt_text": prompt_text, "spk_id": zero_shot_spk_id}))
        return True

    def inference_zero_shot(
        self,
        tts_text: str,
        prompt_text: str,
        prompt_wav: Any,
        zero_shot_spk_id: str = "",
        stream: bool = False,
        speed: float = 1.0,
        text_frontend: bool = True,
    ) -> Iterator[dict[str, torch.Tensor]]:
        if zero_shot_spk_id:
            if zero_shot_spk_id not in self.spks:
                raise KeyError(zero_shot_spk_id)
        else:
            _read_prompt(prompt_wav)
        LOG.calls.append(
            (
                "inference_zero_shot",
                {
                    "tts_text": tts_text,
                    "prompt_text": prompt_text,
                    "spk_id": zero_shot_spk_id,
                    "stream": stream,
                    "speed": speed,
                },
            )
        )
        return self._speech(tts_text, stream, speed)

    def inference_cross_lingual(
        self,
        tts_text: str,
        prompt_wav: Any,
        zero_shot_spk_id: str = "",
        stream: bool = False,
        speed: float = 1.0,
        text_frontend: bool = True,
    ) -> Iterator[dict[str, torch.Tensor]]:
        _read_prompt(prompt_wav)
        LOG.calls.append(("inference_cross_lingual", {"tts_text": tts_text, "stream": stream, "speed": speed}))
        return self._speech(tts_text, stream, speed)

    def inference_instruct2(
        self,
        tts_text: str,
        instruct_text: str,
        prompt_wav: Any,
        zero_shot_spk_id: str = "",
        stream: bool = False,
        speed: float = 1.0,
        text_frontend: bool = True,
    ) -> Iterator[dict[str, torch.Tensor]]:
        _read_prompt(prompt_wav)
        LOG.calls.append(
            (
                "inference_instruct2",
                {"tts_text": tts_text, "instruct_text": instruct_text, "stream": stream, "speed": speed},
            )
        )
        return self._speech(tts_text, stream, speed)


def AutoModel(**kwargs: Any) -> CosyVoice3:  # noqa: N802 - the real API's name
    """Picks CosyVoice3 when cosyvoice3.yaml is present, as the real AutoModel does."""
    model_dir = kwargs.pop("model_dir")
    if not (Path(model_dir) / "cosyvoice3.yaml").exists():
        raise AssertionError(f"the real AutoModel would not pick CosyVoice3 for {model_dir} (or would download it)")
    return CosyVoice3(model_dir, **kwargs)


def read_wav_bytes(data: bytes) -> tuple[int, int]:
    return _read_prompt(io.BytesIO(data))
