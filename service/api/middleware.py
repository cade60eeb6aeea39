"""ASGI middleware: `Connection: close` while draining, the body caps, and the last-resort JSON 500.

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


# Multipart framing around the file and the text fields (boundaries, part headers, transcript, instruction, ...).
FORM_OVERHEAD_BYTES = 64 * 1024
# The upload field a form body is mostly made of, to name in the 413 (the file is what outgrows a form).
_UPLOAD_FIELD = {"/v1/tts": "prompt_audio", "/v1/voices": "audio"}


class BodyLimitMiddleware:
    """413 for a request body over its cap, counted as it streams in: from Content-Length before reading anything,
    else (a chunked body) as soon as the bytes read pass the cap, so nothing past the cap is parsed, spooled to a
    temporary file or written anywhere. JSON and other bodies: `json_limit` (TTS_MAX_JSON_BYTES); form bodies (the
    prompt and voice uploads): `upload_limit` (TTS_MAX_UPLOAD_BYTES) plus the multipart framing."""

    def __init__(self, app: ASGIApp, json_limit: int, upload_limit: int) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    def _refusal(self, form: bool, size: str, path: str) -> BodyTooLargeError:
        if form:
            return BodyTooLargeError(
                f"request body is {size} bytes; an upload may be at most {self.upload_limit} bytes "
                "(TTS_MAX_UPLOAD_BYTES) plus form fields",
                param=_UPLOAD_FIELD.get(path.rstrip("/"), "body"),
            )
        return BodyTooLargeError(
            f"request body is {size} bytes; JSON bodies may be at most {self.json_limit} bytes (TTS_MAX_JSON_BYTES)"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        form = headers.get("content-type", "").split(";")[0].strip().lower() in _FORM_TYPES
        limit = self.upload_limit + FORM_OVERHEAD_BYTES if form else self.json_limit
        declared = headers.get("content-length", "")
        received = 0

        async def limited() -> Message:
            nonlocal received
            if declared.isdigit() and int(declared) > limit:
                raise self._refusal(form, declared, scope["path"])  # before reading a byte
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise self._refusal(form, f"over {limit}", scope["path"])
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
