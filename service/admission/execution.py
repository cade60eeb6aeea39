"""One engine call, run in a worker thread: never raises, turns CUDA OOM into per-request 503s or solo retries, then
each request's own post-processing (loudness, encoding) in the same thread, so a whole-audio answer costs one hand-off
from the event loop and one back, not two of each."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from service.admission.errors import EngineOverloadedError
from service.admission.model import AdmissionSettings
from service.engines.base import Engine, EngineError, EngineOutOfMemoryError, SynthesisRequest, SynthesisResult

log = logging.getLogger(__name__)

Result = SynthesisResult | BaseException
Finish = Callable[[SynthesisResult], Any]
"""A request's post-processing, run on its audio in the worker thread after the engine call; what it returns (or
raises) is what the request's submitter gets."""


@dataclass(frozen=True)
class BatchOutcome:
    """Per-request results (audio, what its `Finish` made of it, or the exception to raise for it) and what happened
    on the way; `seconds` is the engine's time alone, without the post-processing."""

    results: list[Any]
    seconds: float
    audio_s: float = 0.0
    """Seconds of audio the engine made for this batch."""
    oom: bool = False
    retried_alone: int = 0
    recycle_reason: str | None = None


def _overloaded(request: SynthesisRequest, settings: AdmissionSettings) -> EngineOverloadedError:
    return EngineOverloadedError(
        f"the GPU ran out of memory for request {request.request_id or '(no id)'}; retry shortly or shorten the text",
        retry_after_s=settings.unavailable_retry_after_s,
    )


def _call(engine: Engine, requests: Sequence[SynthesisRequest]) -> list[SynthesisResult]:
    results = engine.synthesize_batch(requests)
    if len(results) != len(requests):
        raise EngineError(f"engine returned {len(results)} results for {len(requests)} requests")
    return list(results)


def _release(engine: Engine) -> None:
    try:
        engine.release()
    except Exception:
        log.exception("engine.release() failed")


def _alone(engine: Engine, request: SynthesisRequest, settings: AdmissionSettings) -> Result:
    try:
        return _call(engine, [request])[0]
    except EngineOutOfMemoryError:
        _release(engine)
        return _overloaded(request, settings)
    except EngineError as exc:
        return exc
    except Exception as exc:
        log.exception("engine failed on a single request")
        return EngineError(f"internal engine error: {type(exc).__name__}")


def run_engine_batch(
    engine: Engine,
    requests: Sequence[SynthesisRequest],
    settings: AdmissionSettings,
    after_batch: Callable[[int], str | None] | None,
    finishers: Sequence[Finish | None] | None = None,
) -> BatchOutcome:
    """Synthesize a batch; every failure becomes a per-request exception so the scheduler keeps serving. Each
    request's finisher (where given) then runs on its audio; a finisher's exception is that request's result."""
    started = time.perf_counter()
    oom = False
    retried = 0
    results: list[Result]
    try:
        results = list(_call(engine, requests))
    except EngineOutOfMemoryError:
        oom = True
        log.warning("CUDA out of memory in a batch of %d", len(requests), extra={"event": "oom"})
        _release(engine)
        if len(requests) > 1 and settings.oom_retry_alone:
            retried = len(requests)
            results = [_alone(engine, r, settings) for r in requests]
        else:
            results = [_overloaded(r, settings) for r in requests]
    except EngineError as exc:
        if len(requests) == 1:
            results = [exc]
        else:  # one bad request must not fail its companions: find it by running them alone
            retried = len(requests)
            results = [_alone(engine, r, settings) for r in requests]
    except Exception as exc:  # an engine bug must cost its requests, never the process
        log.exception("engine failed on a batch of %d", len(requests))
        results = [EngineError(f"internal engine error: {type(exc).__name__}")] * len(requests)
    seconds = time.perf_counter() - started
    audio_s = sum(r.duration_s for r in results if isinstance(r, SynthesisResult))
    finished: list[Any] = results
    if finishers is not None:
        finished = [_finished(result, finish) for result, finish in zip(results, finishers, strict=True)]
    reason: str | None = None
    if after_batch is not None:
        try:
            reason = after_batch(len(requests))
        except Exception:
            log.exception("after-batch hook failed")
    else:
        _release(engine)
    return BatchOutcome(finished, seconds, audio_s, oom=oom, retried_alone=retried, recycle_reason=reason)


def _finished(result: Result, finish: Finish | None) -> Any:
    if finish is None or isinstance(result, BaseException):
        return result
    try:
        return finish(result)
    except Exception as exc:  # the submitter raises it, as it would have raised it doing the work itself
        return exc
