"""Why a request was not served, as small named exceptions that carry their HTTP status and Retry-After.

The app maps them to responses in one place: `status_code` and `retry_after_s` are all it needs.
"""

from __future__ import annotations

import math


class AdmissionError(Exception):
    """Base class: a request refused or abandoned by admission control."""

    status_code: int = 503
    code: str = "unavailable"

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s

    @property
    def retry_after_header(self) -> str | None:
        """Retry-After in whole seconds (RFC 9110 delay-seconds), at least 1; None when not applicable."""
        if self.retry_after_s is None:
            return None
        return str(max(1, math.ceil(self.retry_after_s)))


class QueueFullError(AdmissionError):
    """The bounded queue is full: try again shortly (429)."""

    status_code = 429
    code = "queue_full"


class NotReadyError(AdmissionError):
    """The engine is still loading (503)."""

    status_code = 503
    code = "not_ready"


class DrainingError(AdmissionError):
    """The instance is draining (Spot notice, SIGTERM, recycle): go to another instance (503)."""

    status_code = 503
    code = "draining"


class EngineOverloadedError(AdmissionError):
    """The accelerator ran out of memory for this request; the service keeps serving (503)."""

    status_code = 503
    code = "engine_out_of_memory"


class DeadlineExceededError(AdmissionError):
    """The request did not finish within its deadline (504)."""

    status_code = 504
    code = "deadline_exceeded"


class ClientGoneError(AdmissionError):
    """The client disconnected; the request was dropped (499-style, never sent to anyone)."""

    status_code = 499
    code = "client_closed_request"
