"""Structured JSON logs, one object per line, each carrying the request id; the id is returned as X-Request-ID.

Standard-library logging only: uvicorn's and boto's loggers come out in the same JSON shape. `extra={...}` fields
on a log call become top-level keys (e.g. `extra={"event": "spool", "key": key}`).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable
from typing import IO, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
# A client-supplied id is kept only if it is short and plain (it ends up in logs and headers).
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}

OnRequest = Callable[[str, str, int, float], None]
"""on_request(route_template, method, status, seconds), e.g. Metrics.request."""


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            data["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def configure_logging(level: str | int = "INFO", stream: IO[str] | None = None) -> None:
    """Route every logger (ours, uvicorn's, boto's) through one JSON handler on stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # replaced by our access line with the request id
    for noisy in ("botocore", "boto3", "s3transfer", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Pure ASGI middleware: request id in, request id out (header), one JSON access line, metrics callback."""

    def __init__(self, app: ASGIApp, on_request: OnRequest | None = None) -> None:
        self.app = app
        self.on_request = on_request
        self.log = logging.getLogger("voicefleet.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = incoming if _CLIENT_ID.match(incoming) else new_request_id()
        token = request_id_var.set(request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER.encode()]
                message = {**message, "headers": [*headers, (REQUEST_ID_HEADER.encode(), request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = str(scope.get("method", ""))
            level = logging.DEBUG if route in _QUIET_ROUTES and status < 400 else logging.INFO
            self.log.log(
                level,
                "%s %s %d",
                method,
                route,
                status,
                extra={
                    "event": "request",
                    "request_id": request_id,
                    "method": method,
                    "route": route,
                    "path": scope.get("path", ""),
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )
            if self.on_request is not None:
                self.on_request(route, method, status, seconds)
            request_id_var.reset(token)
