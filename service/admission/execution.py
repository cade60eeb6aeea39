"""One engine call, run in a worker thread: never raises, turns CUDA OOM into per-request 503s or solo retries."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from service.admission.errors import EngineOverloadedError
from service.admission.model import AdmissionSettings
from service.engines.base import Engine, EngineError, EngineOutOfMemoryError, SynthesisRequest, SynthesisResult

log = logging.getLogger(__name__)

Result = SynthesisResult | BaseException


@dataclass(frozen=True)
class BatchOutcome:
    """Per-request results (audio or the exception to raise for it) and what happened on the way."""

    results: list[Result]
    seconds: float
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
) -> BatchOutcome:
    """Synthesize a batch; every failure becomes a per-request exception so the scheduler keeps serving."""
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
    reason: str | None = None
    if after_batch is not None:
        try:
            reason = after_batch(len(requests))
        except Exception:
            log.exception("after-batch hook failed")
    else:
        _release(engine)
    return BatchOutcome(results, seconds, oom=oom, retried_alone=retried, recycle_reason=reason)
