"""The one place errors become HTTP responses. Body shape follows OpenAI's: {"error": {message, type, param, code}},
where `param` names the request field at fault, so OpenAI clients show our messages unchanged."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.admission import AdmissionError, ClientGoneError
from service.audio.prompt import PromptAudioError
from service.engines.base import EngineError, EngineNotReadyError, EngineOutOfMemoryError
from service.security import AuthError
from service.storage import StorageKeyError
from service.text.errors import EmptyTextError, TagError, TextError, TextTooLongError
from service.voices.store import VoiceExistsError, VoiceNameError, VoiceNotFoundError

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    """OpenAI's error object; some codes add fields (`limit`/`length`, `symbol`, `retry_after_s`)."""

    model_config = ConfigDict(extra="allow")

    message: str
    type: str
    param: str | None
    code: str


class ErrorResponse(BaseModel):
    error: ErrorDetail


_ERROR_DESCRIPTIONS = {
    400: "Malformed JSON or multipart body, or prompt audio that is corrupt, too short/long, low-rate or silent",
    401: "Missing or unknown API key",
    403: "Key not allowed here (a client key on an admin route, or admin routes disabled)",
    404: "No such voice or model",
    409: "Name taken by a built-in or saved voice",
    413: "Text over the character limit, or a body, upload or form field over its size limit",
    415: "Wrong Content-Type",
    422: "Invalid field (named in error.param)",
    429: "Queue full; retry after Retry-After",
    503: "Loading, draining or out of GPU memory; retry after Retry-After",
    500: "Unexpected server failure (code internal_error; the message carries the request id)",
    504: "Past the per-request deadline",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error statuses a route can answer, all with the ErrorResponse body (so the
    schema documents what clients really get, not FastAPI's default 422 shape)."""
    return {code: {"model": ErrorResponse, "description": _ERROR_DESCRIPTIONS[code]} for code in codes}


class ApiError(Exception):
    """An error with its HTTP status, raised by routes for request problems found outside the typed layers."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str = "invalid_request") -> None:
        super().__init__(message)
        self.status = status
        self.param = param
        self.code = code


def error_body(
    message: str, *, param: str | None, code: str, kind: str = "invalid_request_error", **extra: Any
) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code, **extra}}


class SafeJSONResponse(JSONResponse):
    """JSON that always renders: a message echoing text UTF-8 cannot encode (a lone surrogate from a path or a
    header) falls back to ASCII escapes instead of failing inside the error handler."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def _json(status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> JSONResponse:
    return SafeJSONResponse(status_code=status, content=body, headers=headers)


class BodyTooLargeError(StarletteHTTPException):
    """413 for a body over its cap (raised while reading, so FastAPI's body parsing passes it through)."""

    def __init__(self, message: str, param: str = "body") -> None:
        super().__init__(status_code=413, detail=message)
        self.param = param


def _oversized_form_field(exc: BaseException) -> str | None:
    """The form field Starlette was reading when it refused an oversized text part. Its MultiPartException names
    no field, so the parser's frame is looked up in the traceback; None when it cannot be found."""
    tb = exc.__context__.__traceback__ if exc.__context__ is not None else None
    while tb is not None:
        parser = tb.tb_frame.f_locals.get("self")
        name = getattr(getattr(parser, "_current_part", None), "field_name", None)  # multipart/form-data
        if isinstance(name, str) and name:
            return name
        raw = getattr(parser, "_field_name", None)  # application/x-www-form-urlencoded
        if isinstance(raw, bytearray) and raw:
            return unquote_plus(raw.decode("latin-1"))
        tb = tb.tb_next
    return None


# Where FastAPI says a value came from; the first item of an error's `loc`, never a field name.
_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie", "form"})


def _field(loc: tuple[Any, ...]) -> str:
    """The field an error's `loc` points at: the location prefix dropped, nested names joined with '.'
    (`("body", "items", 0, "name")` -> "items.0.name"). Leading indexes (a top-level array position, a decode
    offset) name no field, so they are dropped too; nothing left means the body (or query, ...) as a whole."""
    parts = list(loc)
    where = str(parts.pop(0)) if parts and parts[0] in _LOCATIONS else "body"
    while parts and isinstance(parts[0], int):
        parts.pop(0)
    return ".".join(str(p) for p in parts) or where


def _json_decode_message(error: Mapping[str, Any], doc: Any) -> str:
    """'request body is not valid JSON: Expecting value at line 1 column 1' from FastAPI's json_invalid error
    (its `loc` carries the character offset and `ctx` json's reason; the body itself is the exception's)."""
    reason = str((error.get("ctx") or {}).get("error", "malformed JSON"))
    loc = tuple(error.get("loc", ()))
    pos = loc[-1] if loc and isinstance(loc[-1], int) else None
    if pos is None or not isinstance(doc, str):
        return f"request body is not valid JSON: {reason}"
    line = doc.count("\n", 0, pos) + 1
    column = pos - doc.rfind("\n", 0, pos)  # rfind gives -1 on the first line, so columns start at 1
    return f"request body is not valid JSON: {reason} at line {line} column {column}"


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0]
    if first.get("type") == "json_invalid":
        message = _json_decode_message(first, exc.body)
        return _json(400, error_body(message, param="body", code="invalid_json"))
    field = _field(tuple(first.get("loc", ())))
    message = f"{field}: {first.get('msg', 'invalid value')}"
    if first.get("type") == "missing":
        message = f"{field} is required"
    return _json(422, error_body(message, param=field, code=str(first.get("type", "invalid_value"))))


async def _domain(_: Request, exc: Exception) -> JSONResponse:
    """Named errors of the text, audio, voice and engine layers -> status, message naming the field."""
    if isinstance(exc, ApiError):
        return _json(exc.status, error_body(str(exc), param=exc.param, code=exc.code))
    if isinstance(exc, TextTooLongError):
        if exc.field == "input":  # the OpenAI-compatible endpoint answers as OpenAI does: 400 naming `input`
            body = error_body(
                str(exc), param="input", code="string_above_max_length", limit=exc.limit, length=exc.length
            )
            return _json(400, body)
        body = error_body(str(exc), param=exc.field, code="text_too_long", limit=exc.limit, length=exc.length)
        return _json(413, body)
    if isinstance(exc, EmptyTextError | TagError | TextError):
        code = {EmptyTextError: "empty_text", TagError: "invalid_pronunciation_tag"}.get(type(exc), "invalid_text")
        extra = {"symbol": exc.symbol} if isinstance(exc, TagError) else {}
        return _json(422, error_body(str(exc), param=exc.field, code=code, **extra))
    if isinstance(exc, PromptAudioError):
        return _json(exc.status, error_body(str(exc), param=exc.field, code="invalid_prompt_audio"))
    if isinstance(exc, VoiceNameError):
        return _json(422, error_body(str(exc), param="name", code="invalid_voice_name"))
    if isinstance(exc, VoiceNotFoundError):
        return _json(404, error_body(f"no voice named '{exc.args[0]}'", param="name", code="voice_not_found"))
    if isinstance(exc, VoiceExistsError):
        return _json(409, error_body(str(exc), param="name", code="voice_exists"))
    if isinstance(exc, EngineOutOfMemoryError):
        body = error_body(str(exc), param=None, code="engine_out_of_memory", kind="server_error")
        return _json(503, body, headers={"Retry-After": "5"})
    if isinstance(exc, EngineNotReadyError):
        body = error_body(str(exc), param=None, code="engine_not_ready", kind="server_error")
        return _json(503, body, headers={"Retry-After": "10"})
    if isinstance(exc, EngineError):
        log.exception("engine failure")
        return _json(500, error_body(str(exc), param=None, code="engine_error", kind="server_error"))
    raise exc


async def _admission(_: Request, exc: Exception) -> Response:
    """Back-pressure and drain: 429 / 503 / 504 with Retry-After and a body naming the problem (`code`)."""
    assert isinstance(exc, AdmissionError)
    if isinstance(exc, ClientGoneError):
        return Response(status_code=499)  # nobody is listening; 499 only shows in the access log and metrics
    kind = "rate_limit_error" if exc.status_code == 429 else "server_error"
    extra = {"retry_after_s": exc.retry_after_s} if exc.retry_after_s is not None else {}
    headers = {"Retry-After": exc.retry_after_header} if exc.retry_after_header else None
    return _json(exc.status_code, error_body(exc.message, param=None, code=exc.code, kind=kind, **extra), headers)


async def _auth(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AuthError)
    kind = "authentication_error" if exc.status_code in (401, 403) else "server_error"
    body = error_body(str(exc.detail), param="Authorization", code=exc.code, kind=kind)
    return _json(exc.status_code, body, exc.headers)


async def _storage_key(_: Request, exc: Exception) -> JSONResponse:
    return _json(422, error_body(str(exc), param="response_format", code="invalid_storage_key"))


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI answers a body it cannot decode with a generic "error parsing the body"; JSON must be UTF-8.
        bad = exc.__cause__
        message = f"request body is not valid JSON: not UTF-8 text (byte 0x{bad.object[bad.start]:02x} at {bad.start})"
        return _json(400, error_body(message, param="body", code="invalid_json"))
    if isinstance(exc, BodyTooLargeError):
        return _json(413, error_body(str(exc.detail), param=exc.param, code="body_too_large"))
    if exc.status_code == 400 and str(exc.detail).startswith(("Part exceeded maximum size", "Field exceeded maximum")):
        # Starlette's per-field cap (1 MiB) on form text; far above any real field, so it is an oversized upload.
        field = _oversized_form_field(exc) or "body"
        message = f"{field} is too large ({exc.detail})"
        return _json(413, error_body(message, param=field, code="field_too_large"))
    return _json(exc.status_code, error_body(str(exc.detail), param=None, code=f"http_{exc.status_code}"), exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(AuthError, _auth)
    app.add_exception_handler(AdmissionError, _admission)
    app.add_exception_handler(StorageKeyError, _storage_key)
    for kind in (
        ApiError,
        TextError,
        PromptAudioError,
        VoiceNameError,
        VoiceNotFoundError,
        VoiceExistsError,
        EngineError,
    ):
        app.add_exception_handler(kind, _domain)
