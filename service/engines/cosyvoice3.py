"""Adapter over the CosyVoice3 Python API (FunAudioLLM/CosyVoice): the production engine on a GPU.

torch and cosyvoice are imported in load() only, so the service (and its tests) import without them. The adapter
never lets AutoModel download weights (it would fetch from ModelScope for a missing path): the model directory must
exist and hold cosyvoice3.yaml. Known failure modes it guards against: fp16 NaN/silent output (CosyVoice issues
#1930, #1822, #1873: retried once in fp32 and reported), shared streaming state under concurrency (PR #1849: the
service runs one request at a time through this engine), CUDA OOM (mapped to EngineOutOfMemoryError).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from service.engines.base import (
    Audio,
    Capabilities,
    Engine,
    EngineError,
    EngineNotReadyError,
    EngineOutOfMemoryError,
    MemoryReport,
    SynthesisRequest,
    SynthesisResult,
    VoicePrompt,
)
from service.engines.process import rss_bytes

# CosyVoice3's prompt and instruct texts start with this system prefix and end with <|endofprompt|>
# (its example.py: 'You are a helpful assistant.<|endofprompt|>希望你以后能够做的比我还好呦。').
SYSTEM_PREFIX = "You are a helpful assistant."
END_OF_PROMPT = "<|endofprompt|>"
SAMPLE_RATE = 24000
# Peak below this is "silent" output (int16 quantization step is ~3e-5; speech peaks are orders of magnitude above).
_SILENT_PEAK = 1e-4


def prompt_text(transcript: str) -> str:
    """Zero-shot prompt text: system prefix, end-of-prompt marker, then the clip's transcript."""
    return f"{SYSTEM_PREFIX}{END_OF_PROMPT}{transcript}"


def instruct_text(instruction: str) -> str:
    """Instruct text: 'You are a helpful assistant. 请用广东话表达。<|endofprompt|>'."""
    instruction = instruction.replace(END_OF_PROMPT, "").strip()
    if instruction.startswith(SYSTEM_PREFIX):
        instruction = instruction[len(SYSTEM_PREFIX) :].strip()
    return f"{SYSTEM_PREFIX} {instruction}{END_OF_PROMPT}"


def _wav_file(prompt: VoicePrompt) -> io.BytesIO:
    """The clip as an in-memory WAV file object (CosyVoice's load_wav accepts a path or a file object)."""
    buffer = io.BytesIO()
    sf.write(buffer, prompt.audio, prompt.sample_rate, format="WAV", subtype="FLOAT")
    buffer.seek(0)
    return buffer


class CosyVoice3Engine(Engine):
    capabilities = Capabilities(
        name="cosyvoice3",
        languages=("zh", "yue", "en", "ja", "ko", "de", "es", "fr", "it", "ru"),
        sample_rate=SAMPLE_RATE,
        clone=True,
        instruct=True,
        phoneme_tags=True,
        streaming=True,
        notes=(
            "needs a voice prompt: a saved voice or an uploaded 3-30 s clip",
            "speed applies to non-streamed output",
        ),
    )

    def __init__(self, model_dir: Path, *, device: str = "cuda:0", fp16: bool = False) -> None:
        self.model_dir = Path(model_dir)
        self.device = device
        self.fp16 = fp16
        self._model: Any = None
        self._torch: Any = None
        self._speakers: dict[str, int] = {}  # spk_id -> hash of the audio registered under it
        self._lock = threading.Lock()

    def check(self) -> None:
        """Cheap startup checks (no imports): the model directory exists and is a CosyVoice3 export."""
        if not self.model_dir.is_dir():
            raise EngineNotReadyError(
                f"model dir {self.model_dir} does not exist; sync the weights first "
                "(voicefleet-models pull --to DIR); they are never downloaded at startup"
            )
        if not (self.model_dir / "cosyvoice3.yaml").is_file():
            raise EngineNotReadyError(f"model dir {self.model_dir} holds no cosyvoice3.yaml (not a CosyVoice3 export)")

    def load(self) -> None:
        self.check()
        import torch  # heavy: imported only when the engine loads

        self._torch = torch
        if self.device.startswith("cuda"):
            if not torch.cuda.is_available():
                raise EngineNotReadyError(f"device {self.device} requested but CUDA is not available")
            torch.cuda.set_device(int(self.device.split(":")[1]))
        self._model = self._build(self.fp16)

    def _build(self, fp16: bool) -> Any:
        from cosyvoice.cli.cosyvoice import AutoModel

        model = AutoModel(model_dir=str(self.model_dir), fp16=fp16)
        if int(model.sample_rate) != SAMPLE_RATE:
            raise EngineNotReadyError(f"model at {self.model_dir} is {model.sample_rate} Hz, not CosyVoice3's 24 kHz")
        self._speakers.clear()
        return model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def synthesize_batch(self, requests: Sequence[SynthesisRequest]) -> list[SynthesisResult]:
        with self._lock:
            return [self._one(request) for request in requests]

    def _one(self, request: SynthesisRequest) -> SynthesisResult:
        notes: list[str] = []
        audio = self._collect(request, notes)
        if self.fp16 and _bad(audio):
            # Known fp16 failure (NaN or silence): switch this process to fp32 for good and retry once.
            self._free()
            self.fp16 = False
            self._model = self._build(False)
            notes.append("fp16 produced NaN/silent audio; the engine switched to fp32 and retried")
            audio = self._collect(request, notes)
        if _bad(audio):
            raise EngineError("cosyvoice3 produced NaN or silent audio for this request")
        return SynthesisResult(audio=audio, sample_rate=SAMPLE_RATE, notes=tuple(notes))

    def _collect(self, request: SynthesisRequest, notes: list[str]) -> Audio:
        pieces = list(self._generate(request, stream=False, notes=notes))
        return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)

    def stream(self, request: SynthesisRequest) -> Iterator[Audio]:
        with self._lock:
            notes: list[str] = []
            yield from self._generate(request, stream=True, notes=notes)

    def _generate(self, request: SynthesisRequest, *, stream: bool, notes: list[str]) -> Iterator[Audio]:
        model = self._require()
        prompt = request.prompt
        if prompt is None:
            raise EngineError("cosyvoice3 needs a voice: use a saved voice or upload prompt_audio (3-30 s)")
        speed = request.speed
        if stream and speed != 1.0:
            notes.append("cosyvoice3 applies speed only to non-streamed output; streamed at 1.0")
            speed = 1.0
        common: dict[str, Any] = {"stream": stream, "speed": speed}
        if request.instruct:
            outputs = model.inference_instruct2(
                request.text, instruct_text(request.instruct), _wav_file(prompt), **common
            )
        elif prompt.text:
            spk_id = self._speaker(model, prompt)
            if spk_id:
                outputs = model.inference_zero_shot(request.text, "", "", zero_shot_spk_id=spk_id, **common)
            else:
                outputs = model.inference_zero_shot(request.text, prompt_text(prompt.text), _wav_file(prompt), **common)
        else:
            # No transcript: cross-lingual mode clones timbre without aligning prompt text.
            outputs = model.inference_cross_lingual(
                f"{SYSTEM_PREFIX}{END_OF_PROMPT}{request.text}", _wav_file(prompt), **common
            )
        try:
            for output in outputs:
                yield _to_numpy(output["tts_speech"])
        except Exception as exc:
            if type(exc).__name__ == "OutOfMemoryError":
                self._free()
                raise EngineOutOfMemoryError(f"CUDA out of memory on {self.device}; caches freed") from exc
            raise

    def _speaker(self, model: Any, prompt: VoicePrompt) -> str:
        """A cached zero-shot speaker for a saved voice (add_zero_shot_spk once per voice and audio)."""
        if not prompt.name or not prompt.text:
            return ""
        spk_id = f"voicefleet:{prompt.name}"
        fingerprint = hash((prompt.text, prompt.audio.tobytes()))
        if self._speakers.get(spk_id) != fingerprint:
            model.add_zero_shot_spk(prompt_text(prompt.text), _wav_file(prompt), spk_id)
            self._speakers[spk_id] = fingerprint
        return spk_id

    def _require(self) -> Any:
        if self._model is None:
            raise EngineNotReadyError("cosyvoice3 engine is not loaded")
        return self._model

    def _free(self) -> None:
        if self._torch is not None and self.device.startswith("cuda") and self._torch.cuda.is_available():
            self._torch.cuda.empty_cache()

    def release(self) -> None:
        self._free()

    def memory_report(self) -> MemoryReport:
        torch = self._torch
        if torch is None or not self.device.startswith("cuda") or not torch.cuda.is_available():
            return MemoryReport(rss_bytes=rss_bytes())
        index = int(self.device.split(":")[1])
        return MemoryReport(
            rss_bytes=rss_bytes(),
            gpu_allocated_bytes=int(torch.cuda.memory_allocated(index)),
            gpu_reserved_bytes=int(torch.cuda.memory_reserved(index)),
            gpu_total_bytes=int(torch.cuda.get_device_properties(index).total_memory),
        )

    def close(self) -> None:
        self._model = None
        self._free()


def _to_numpy(speech: Any) -> Audio:
    """tensor[1, T] (any device/dtype) -> float32 mono."""
    if hasattr(speech, "detach"):
        speech = speech.detach().float().cpu().numpy()
    return np.asarray(speech, dtype=np.float32).reshape(-1)


def _bad(audio: Audio) -> bool:
    return audio.size == 0 or not bool(np.all(np.isfinite(audio))) or float(np.max(np.abs(audio))) < _SILENT_PEAK
