"""ASGI middleware: `Connection: close` while draining, the JSON body cap, and the last-resort JSON 500.

`Connection: close` on every response while the instance drains.

Otherwise a client may send its next request on a keep-alive connection just as the exiting server closes it, and
that request is neither answered nor refused. With the header, each client opens a new connection for its next
request, and the load balancer (readiness already 503) sends it to another instance.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.errors import BodyTooLargeError, SafeJSONResponse, error_body
from service.logging import request_id_var

log = logging.getLogger(__name__)
_FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


class CloseWhileDrainingMiddleware:
    def __init__(self, app: ASGIApp, draining: Callable[[], bool]) -> None:
        self.app = app
        self.draining = draining

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and self.draining():
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, send_closing)


class JsonBodyLimitMiddleware:
    """413 for a non-form request body over `limit` bytes: from Content-Length before reading anything, else (a
    chunked body) as soon as the bytes read pass the limit. Form bodies have their own caps (TTS_MAX_UPLOAD_BYTES)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def _refusal(self, size: str) -> BodyTooLargeError:
        return BodyTooLargeError(
            f"request body is {size} bytes; JSON bodies may be at most {self.limit} bytes (TTS_MAX_JSON_BYTES)"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else Headers()
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if scope["type"] != "http" or content_type in _FORM_TYPES:
            await self.app(scope, receive, send)
            return
        declared = headers.get("content-length", "")
        received = 0

        async def limited() -> Message:
            nonlocal received
            if declared.isdigit() and int(declared) > self.limit:
                raise self._refusal(declared)  # before reading a byte
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise self._refusal(f"over {self.limit}")
            return message

        await self.app(scope, limited, send)


class InternalErrorMiddleware:
    """The last resort: an exception no handler took becomes a JSON 500 (`internal_error`) naming the request id,
    logged with its traceback; the body carries no exception text, which may hold paths or secrets."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception:
            request_id = request_id_var.get()
            log.exception("unhandled error", extra={"event": "internal_error", "request_id": request_id})
            if started:
                raise  # the status line is gone; only closing the connection is left (uvicorn does)
            message = f"internal server error; quote request id {request_id or '(none)'} when reporting it"
            body = error_body(message, param=None, code="internal_error", kind="server_error")
            await SafeJSONResponse(body, status_code=500)(scope, receive, send)
