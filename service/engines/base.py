"""The one small interface every synthesis engine implements (espeak, cosyvoice3, loadmodel).

The service, the benchmarks and the cost calibration use engines only through this interface, so they treat an
embedded CPU synthesizer and CosyVoice3 on a GPU alike. Engines are synchronous and are called from worker threads,
never from the event loop.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Audio = npt.NDArray[np.float32]
"""Mono float32 samples in [-1, 1]."""


class EngineError(Exception):
    """The engine could not synthesize a request (bad input for this engine, or an internal failure)."""


class EngineNotReadyError(EngineError):
    """The engine is not loaded (or failed to load)."""


class EngineOutOfMemoryError(EngineError):
    """The accelerator ran out of memory during a batch; the batch's caches were freed and the engine still works."""


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do; served by GET /v1/models."""

    name: str
    languages: tuple[str, ...]
    sample_rate: int
    clone: bool = False
    instruct: bool = False
    phoneme_tags: bool = False
    streaming: bool = False
    batching: bool = False
    # Requests the engine can run at once (threads); the service runs min(this, max_concurrency). 1: global state.
    max_concurrency: int = 1
    # False for engines whose output is not speech (the loadmodel used for GPU benchmarks).
    is_speech: bool = True
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class VoicePrompt:
    """A reference clip to clone (CosyVoice3) or to steer pitch and rate from (espeak)."""

    audio: Audio
    sample_rate: int
    text: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class SynthesisRequest:
    """One validated request as the engine sees it (text already normalized and tag-checked)."""

    text: str
    request_id: str = ""
    language: str | None = None
    voice: str | None = None
    prompt: VoicePrompt | None = None
    instruct: str | None = None
    speed: float = 1.0


@dataclass(frozen=True)
class SynthesisResult:
    """The audio of one request plus what the engine could not honor (reported, never silently dropped)."""

    audio: Audio
    sample_rate: int
    notes: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return len(self.audio) / self.sample_rate if self.sample_rate else 0.0


@dataclass(frozen=True)
class MemoryReport:
    """Accelerator and host memory, for hygiene decisions and /metrics."""

    rss_bytes: int
    gpu_allocated_bytes: int = 0
    gpu_reserved_bytes: int = 0
    gpu_total_bytes: int = 0
    extra: dict[str, float] = field(default_factory=dict)


class Engine(abc.ABC):
    """Base class of all engines."""

    capabilities: Capabilities

    @abc.abstractmethod
    def load(self) -> None:
        """Load weights / libraries. Raises EngineError with a clear message (e.g. missing model dir)."""

    @property
    @abc.abstractmethod
    def loaded(self) -> bool:
        """True once load() succeeded."""

    @abc.abstractmethod
    def synthesize_batch(self, requests: Sequence[SynthesisRequest]) -> list[SynthesisResult]:
        """Synthesize a batch; results in request order. Engines that cannot batch run them one by one."""

    def stream(self, request: SynthesisRequest) -> Iterator[Audio]:
        """Yield audio segments as they finish. Default: the whole result as one segment."""
        yield self.synthesize_batch([request])[0].audio

    def release(self) -> None:  # noqa: B027 - optional hook
        """Free per-batch caches (e.g. torch.cuda.empty_cache()); called between batches."""

    @property
    def healthy(self) -> bool:
        """False once the engine hit a failure it cannot recover from in this process (/readyz then says so)."""
        return True

    def tag_vocabulary(self) -> frozenset[str] | None:
        """The exact set of inline tags the loaded model accepts, or None for the espeak tag grammar."""
        return None

    def instruction(self, text: str, *, field: str = "instruct") -> str:
        """The instruction as this engine will follow it; raises TextError (naming `field`) for one it cannot."""
        return text

    def forget_voice(self, name: str) -> None:  # noqa: B027 - optional hook
        """Drop whatever the engine cached for a deleted voice."""

    @abc.abstractmethod
    def memory_report(self) -> MemoryReport:
        """Current memory use."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release everything (process shutdown)."""
