"""Adapter over upstream CosyVoice3's Python API (FunAudioLLM/CosyVoice, the commit instances install).

Proven against upstream's real code on a tiny random checkpoint (tests/upstream, `voicefleet-models tiny`). What it
does about upstream's behaviour (each a regression test there):
- the prompt clip is handed over as a file path: `frontend_zero_shot` reads it three times without rewinding;
- upstream's text frontend is off (`text_frontend=False`): the service has normalized the text already (numbers once,
  pronunciation tags untouched); the adapter splits sentences itself with upstream's own `split_paragraph` and drops
  punctuation-only segments, the same cleanup upstream's frontend does for Chinese, minus digit spelling;
- per-request model state (`cosyvoice3_scope`): stream hop length reset for each request, failures of upstream's LLM
  thread raised as this request's error within one polling interval, early-closed requests cleaned up;
- fp16 NaN/silence (CosyVoice issues #1930, #1822, #1873) retries that one request in fp32, with no model rebuild;
- devices: `cpu` hides CUDA from this process before torch starts; `cuda:N` selects device N for torch and for the
  onnxruntime speech tokenizer (upstream gives it no device id);
- hygiene: upstream's INFO logs (which carry the user's text) and tqdm bars are silenced; saved-speaker entries live
  in a bounded LRU and leave when a voice is deleted.
torch and cosyvoice are imported in load() only, so the service imports without them. The model directory must exist
(AutoModel would otherwise download from ModelScope).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
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
from service.engines.cosyvoice3_scope import RequestScope, new_scope, scope_model
from service.engines.cosyvoice3_upstream import (
    accepted_tags,
    prepare_environment,
    quiet_upstream_logs,
    register_vllm_model,
    require_tensorrt,
    select_speech_tokenizer_device,
    serialize_tokenizer,
    split_for_model,
)
from service.engines.process import rss_bytes
from service.text.instruct import map_instruction

# CosyVoice3's prompt and instruct texts start with this system prefix and end with <|endofprompt|>
# (upstream example.py and cosyvoice/utils/common.py instruct_list).
SYSTEM_PREFIX = "You are a helpful assistant."
END_OF_PROMPT = "<|endofprompt|>"
SAMPLE_RATE = 24000
DEFAULT_SPEAKER_CACHE = 64
# Peak below this is "silent" output (int16 quantization step is ~3e-5; speech peaks are orders of magnitude above).
_SILENT_PEAK = 1e-4
# Failures after which the CUDA context is unusable: the engine reports itself unhealthy (/readyz 503).
_FATAL_MARKERS = ("CUDA error", "device-side assert", "CUBLAS_STATUS", "cuDNN error", "illegal memory access")


def prompt_text(transcript: str) -> str:
    """Zero-shot prompt text: system prefix, end-of-prompt marker, then the clip's transcript."""
    return f"{SYSTEM_PREFIX}{END_OF_PROMPT}{transcript}"


def instruct_text(instruction: str) -> str:
    """Instruct text in the trained form: 'You are a helpful assistant. 请用广东话表达。<|endofprompt|>'."""
    instruction = instruction.replace(END_OF_PROMPT, "").strip()
    if instruction.startswith(SYSTEM_PREFIX):
        instruction = instruction[len(SYSTEM_PREFIX) :].strip()
    return f"{SYSTEM_PREFIX} {instruction}{END_OF_PROMPT}"


class UpstreamThreadError(EngineError):
    """Upstream's LLM thread failed for this request."""


class CosyVoice3Engine(Engine):
    capabilities = Capabilities(
        name="cosyvoice3",
        languages=("zh", "yue", "en", "ja", "ko", "de", "es", "fr", "it", "ru"),
        sample_rate=SAMPLE_RATE,
        clone=True,
        instruct=True,
        phoneme_tags=True,
        streaming=True,
        # Per-request state lives in each request's scope (cosyvoice3_scope), so requests may share the model.
        max_concurrency=64,
        notes=(
            "needs a voice prompt: a saved voice or an uploaded 3-30 s clip",
            "speed applies to non-streamed output",
            "instructions map onto CosyVoice3's trained list (dialects, loud/soft, slow/fast, happy/sad/angry, ...)",
        ),
    )

    def __init__(
        self,
        model_dir: Path,
        *,
        device: str = "cuda:0",
        fp16: bool = False,
        speaker_cache: int = DEFAULT_SPEAKER_CACHE,
        load_trt: bool = False,
        load_vllm: bool = False,
        trt_concurrent: int = 1,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.device = device
        self.fp16 = fp16
        # GPU accelerations upstream offers, off by default (docs/service.md: which instance types they suit):
        # TensorRT for the flow decoder's estimator (trt_concurrent contexts), vLLM continuous batching for the LLM.
        self.load_trt = load_trt
        self.load_vllm = load_vllm
        self.trt_concurrent = trt_concurrent
        self.speaker_cache = speaker_cache
        self._model: Any = None
        self._torch: Any = None
        self._speakers: OrderedDict[str, str] = OrderedDict()  # spk_id -> fingerprint, most recent last
        self._speaker_lock = threading.Lock()
        self._tags: frozenset[str] = frozenset()
        self.fatal_error: str | None = None

    def check(self) -> None:
        """Cheap startup checks (no imports): device and precision make sense, the model directory is an export."""
        if self.fp16 and not self.device.startswith("cuda"):
            raise EngineNotReadyError(f"fp16 needs a CUDA device; device is {self.device} (set TTS_FP16=false)")
        for flag, name in ((self.load_trt, "TTS_LOAD_TRT"), (self.load_vllm, "TTS_LOAD_VLLM")):
            if flag and not self.device.startswith("cuda"):
                raise EngineNotReadyError(f"{name} needs a CUDA device; device is {self.device} (set {name}=false)")
        if not self.model_dir.is_dir():
            raise EngineNotReadyError(
                f"model dir {self.model_dir} does not exist; sync the weights first "
                "(voicefleet-models pull --to DIR); they are never downloaded at startup"
            )
        if not (self.model_dir / "cosyvoice3.yaml").is_file():
            raise EngineNotReadyError(f"model dir {self.model_dir} holds no cosyvoice3.yaml (not a CosyVoice3 export)")

    def load(self) -> None:
        if self._model is not None:
            return
        self.check()
        prepare_environment(self.device)  # before torch starts: CUDA visibility, tqdm off
        import torch  # heavy: imported only when the engine loads

        self._torch = torch
        if self.device.startswith("cuda"):
            if not torch.cuda.is_available():
                raise EngineNotReadyError(f"device {self.device} requested but CUDA is not available")
            torch.cuda.set_device(self._gpu_index())
        from cosyvoice.cli.cosyvoice import AutoModel

        quiet_upstream_logs()
        if self.load_vllm:
            register_vllm_model()
        if self.load_trt:
            require_tensorrt()
        model = AutoModel(
            model_dir=str(self.model_dir),
            fp16=self.fp16,
            load_trt=self.load_trt,
            load_vllm=self.load_vllm,
            trt_concurrent=self.trt_concurrent,
        )
        quiet_upstream_logs()  # upstream's file_utils calls logging.basicConfig(level=DEBUG) on import
        if int(model.sample_rate) != SAMPLE_RATE:
            raise EngineNotReadyError(f"model at {self.model_dir} is {model.sample_rate} Hz, not CosyVoice3's 24 kHz")
        if self.device.startswith("cuda"):
            select_speech_tokenizer_device(model.frontend, self.model_dir, self._gpu_index())
        scope_model(model.model)
        serialize_tokenizer(model.frontend.tokenizer)
        self._tags = accepted_tags(model.frontend.tokenizer)
        self._model = model

    def _gpu_index(self) -> int:
        return int(self.device.split(":")[1]) if ":" in self.device else 0

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def healthy(self) -> bool:
        return self.fatal_error is None

    def instruction(self, text: str, *, field: str = "instruct") -> str:
        """The trained instruction `text` maps to (service.text.instruct); InstructError (422) when none or several."""
        return map_instruction(text, field=field).trained

    def tag_vocabulary(self) -> frozenset[str] | None:
        """The inline tags the loaded model's tokenizer knows (upstream's special tokens), or None before load."""
        return self._tags or None

    # -- synthesis -----------------------------------------------------------------------------------------------

    def synthesize_batch(self, requests: Sequence[SynthesisRequest]) -> list[SynthesisResult]:
        return [self._one(request) for request in requests]

    def _one(self, request: SynthesisRequest) -> SynthesisResult:
        notes: list[str] = []
        audio = self._collect(request, notes, fp16=None)
        if audio.size and _bad(audio) and self.fp16:
            # Known fp16 failure (NaN or silence): retry this request alone in fp32; other requests keep fp16.
            notes.append("fp16 produced NaN/silent audio; this request was synthesized again in fp32")
            audio = self._collect(request, notes, fp16=False)
        if audio.size == 0:
            raise EngineError("cosyvoice3 produced no audio for this text (nothing speakable after normalization)")
        if _bad(audio):
            raise EngineError("cosyvoice3 produced NaN or silent audio for this request")
        return SynthesisResult(audio=audio, sample_rate=SAMPLE_RATE, notes=tuple(notes))

    def _collect(self, request: SynthesisRequest, notes: list[str], *, fp16: bool | None) -> Audio:
        pieces = list(self._generate(request, stream=False, notes=notes, fp16=fp16))
        return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)

    def stream(self, request: SynthesisRequest) -> Iterator[Audio]:
        yield from self._generate(request, stream=True, notes=[], fp16=None)

    def _generate(
        self, request: SynthesisRequest, *, stream: bool, notes: list[str], fp16: bool | None
    ) -> Iterator[Audio]:
        model = self._require()
        prompt = request.prompt
        if prompt is None:
            raise EngineError("cosyvoice3 needs a voice: use a saved voice or upload prompt_audio (3-30 s)")
        speed = request.speed
        if stream and speed != 1.0:
            notes.append("cosyvoice3 applies speed only to non-streamed output; streamed at 1.0")
            speed = 1.0
        segments = split_for_model(request.text, model.frontend)
        if not segments:
            raise EngineError("nothing speakable in the text after normalization")
        with _prompt_file(prompt) as wav_path:
            for segment in segments:
                outputs = self._outputs(model, request, prompt, wav_path, segment, stream=stream, speed=speed)
                yield from self._run(outputs, model, fp16)

    def _outputs(
        self,
        model: Any,
        request: SynthesisRequest,
        prompt: VoicePrompt,
        wav_path: str,
        segment: str,
        *,
        stream: bool,
        speed: float,
    ) -> Generator[dict[str, Any], None, None]:
        common: dict[str, Any] = {"stream": stream, "speed": speed, "text_frontend": False}
        if request.instruct:
            # No cached speaker here: upstream's instruct2 with a zero_shot_spk_id would use the cached prompt text
            # instead of the instruction (frontend_instruct2 -> frontend_zero_shot returns spk2info as stored).
            return model.inference_instruct2(segment, instruct_text(request.instruct), wav_path, **common)  # type: ignore[no-any-return]
        spk_id = self._speaker(model, prompt, wav_path)
        if prompt.text:
            prompt_arg = "" if spk_id else prompt_text(prompt.text)
            return model.inference_zero_shot(segment, prompt_arg, wav_path, zero_shot_spk_id=spk_id, **common)  # type: ignore[no-any-return]
        # No transcript: cross-lingual mode clones timbre without aligning prompt text; the end-of-prompt marker
        # must then be in the text itself (upstream asserts token 151646 is present).
        return model.inference_cross_lingual(  # type: ignore[no-any-return]
            f"{SYSTEM_PREFIX}{END_OF_PROMPT}{segment}", wav_path, zero_shot_spk_id=spk_id, **common
        )

    def _run(self, outputs: Generator[dict[str, Any], None, None], model: Any, fp16: bool | None) -> Iterator[Audio]:
        scope = new_scope(model.model, fp16=fp16)
        try:
            for output in scope.run(outputs):
                self._raise_thread_error(scope)
                yield _to_numpy(output["tts_speech"])
            self._raise_thread_error(scope)
        except EngineError:
            raise
        except Exception as exc:
            self._raise_thread_error(scope)  # the LLM thread's failure is the cause of whatever followed it
            raise self._mapped(exc) from exc
        finally:
            scope.close()

    def _raise_thread_error(self, scope: RequestScope) -> None:
        if scope.error is not None:
            error = scope.error
            mapped = self._mapped(error)
            if not isinstance(mapped, EngineOutOfMemoryError):
                mapped = UpstreamThreadError(f"upstream LLM thread failed: {type(error).__name__}: {error}")
            raise mapped from error

    def _mapped(self, exc: BaseException) -> EngineError:
        if type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower():
            self._free()
            return EngineOutOfMemoryError(f"CUDA out of memory on {self.device}; caches freed")
        text = str(exc)
        if any(marker in text for marker in _FATAL_MARKERS):
            self.fatal_error = f"{type(exc).__name__}: {text[:200]}"
        return EngineError(f"cosyvoice3 failed: {type(exc).__name__}: {text[:300]}")

    # -- saved speakers -----------------------------------------------------------------------------------------

    def _speaker(self, model: Any, prompt: VoicePrompt, wav_path: str) -> str:
        """A cached speaker for a saved voice (add_zero_shot_spk once per voice and audio), in a bounded LRU."""
        if not prompt.name or self.speaker_cache <= 0:
            return ""
        mode = "zs" if prompt.text else "xl"
        spk_id = f"voicefleet:{mode}:{prompt.name}"
        digest = hashlib.sha256(prompt.audio.tobytes())
        digest.update((prompt.text or "").encode())
        fingerprint = digest.hexdigest()
        with self._speaker_lock:
            if self._speakers.get(spk_id) == fingerprint:
                self._speakers.move_to_end(spk_id)
                return spk_id
        # The prompt text of a cross-lingual speaker is empty: frontend_cross_lingual drops it anyway.
        model.add_zero_shot_spk(prompt_text(prompt.text) if prompt.text else "", wav_path, spk_id)
        with self._speaker_lock:
            self._speakers[spk_id] = fingerprint
            self._speakers.move_to_end(spk_id)
            while len(self._speakers) > self.speaker_cache:
                old, _ = self._speakers.popitem(last=False)
                model.frontend.spk2info.pop(old, None)
        return spk_id

    def forget_voice(self, name: str) -> None:
        """Drop a deleted voice's cached speakers."""
        if self._model is None:
            return
        with self._speaker_lock:
            for mode in ("zs", "xl"):
                spk_id = f"voicefleet:{mode}:{name}"
                self._speakers.pop(spk_id, None)
                self._model.frontend.spk2info.pop(spk_id, None)

    def cached_speakers(self) -> tuple[str, ...]:
        with self._speaker_lock:
            return tuple(self._speakers)

    # -- housekeeping -------------------------------------------------------------------------------------------

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
        index = self._gpu_index()
        return MemoryReport(
            rss_bytes=rss_bytes(),
            gpu_allocated_bytes=int(torch.cuda.memory_allocated(index)),
            gpu_reserved_bytes=int(torch.cuda.memory_reserved(index)),
            gpu_total_bytes=int(torch.cuda.get_device_properties(index).total_memory),
        )

    def close(self) -> None:
        self._model = None
        self._free()


@contextmanager
def _prompt_file(prompt: VoicePrompt) -> Iterator[str]:
    """The clip as a temporary WAV file: upstream reads the prompt three times (feat, token, embedding)."""
    handle, path = tempfile.mkstemp(prefix="voicefleet-prompt-", suffix=".wav")
    try:
        with os.fdopen(handle, "wb") as file:
            sf.write(file, prompt.audio, prompt.sample_rate, format="WAV", subtype="FLOAT")
        yield path
    finally:
        Path(path).unlink(missing_ok=True)


def _to_numpy(speech: Any) -> Audio:
    """tensor[1, T] (any device/dtype) -> float32 mono."""
    if hasattr(speech, "detach"):
        speech = speech.detach().float().cpu().numpy()
    return np.asarray(speech, dtype=np.float32).reshape(-1)


def _bad(audio: Audio) -> bool:
    return audio.size == 0 or not bool(np.all(np.isfinite(audio))) or float(np.max(np.abs(audio))) < _SILENT_PEAK
