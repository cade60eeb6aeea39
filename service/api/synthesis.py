"""From validated request fields to an audio response; shared by the OpenAI-style and the native endpoints.

Every request goes through admission control (bounded queue, deadline, drain): whole-audio requests in batches, a
stream as one queued item that holds an engine slot while it generates. Stored audio goes to S3 (or the spool).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from fastapi import Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from service.admission.streams import StreamHandle
from service.api.errors import ApiError
from service.api.state import ServiceState
from service.audio.encode import MEDIA_TYPES, AudioFormat, encode, to_pcm16, wav_header
from service.audio.loudness import normalize_loudness
from service.audio.resample import resample
from service.engines.base import Audio, SynthesisRequest, SynthesisResult, VoicePrompt
from service.logging import request_id_var
from service.storage import CONTENT_TYPES, StoredAudio, audio_key, audio_metadata, new_audio_id
from service.text import prepare_text
from service.voices.store import VoiceNotFoundError

STREAM_FORMATS = ("wav", "pcm")


@dataclass(frozen=True)
class Job:
    text: str
    text_field: str
    fmt: AudioFormat
    voice: str | None = None
    prompt: VoicePrompt | None = None
    instruct: str | None = None
    instruct_field: str = "instruct"
    language: str | None = None
    speed: float = 1.0
    stream: bool = False
    sample_rate: int | None = None
    store: bool | None = None
    """True: upload and answer with the URL (JSON); None: the server default (TTS_STORE_DEFAULT); False: never."""


def require_content_type(request: Request, *accepted: str) -> None:
    """415 naming Content-Type unless the request declares one of `accepted`."""
    declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if declared not in accepted:
        raise ApiError(
            415,
            f"Content-Type '{declared or '(none)'}' is not accepted here; send {' or '.join(accepted)}",
            param="Content-Type",
            code="unsupported_media_type",
        )


async def resolve_voice(state: ServiceState, name: str | None) -> tuple[str | None, VoicePrompt | None]:
    """(built-in voice name, None) or (None, saved prompt); 422 naming `voice` when it is neither."""
    if name is None or name in state.builtin_voices:
        return name, None
    try:
        prompt = await anyio.to_thread.run_sync(state.voices.load_prompt, name)
    except (VoiceNotFoundError, ValueError) as exc:
        known = ", ".join([*state.builtin_voices, *(v.name for v in state.voices.list())]) or "(none saved yet)"
        raise ApiError(
            422, f"unknown voice '{name}'; known voices: {known}", param="voice", code="unknown_voice"
        ) from exc
    return None, prompt


def _engine_request(state: ServiceState, job: Job) -> SynthesisRequest:
    caps = state.engine.capabilities
    if job.language is not None and job.language not in caps.languages:
        raise ApiError(
            422,
            f"language '{job.language}' is not spoken by engine {caps.name} (use {', '.join(caps.languages)})",
            param="language",
            code="unsupported_language",
        )
    if job.stream and job.fmt not in STREAM_FORMATS:
        raise ApiError(
            422, f"streaming supports {' and '.join(STREAM_FORMATS)}, not {job.fmt}", param="response_format"
        )
    if job.prompt is None and not state.builtin_voices:
        raise ApiError(
            422,
            f"engine {caps.name} needs a voice prompt: name a saved voice or upload prompt_audio (POST /v1/voices)",
            param="voice",
            code="voice_required",
        )
    engine = state.engine
    prepared = prepare_text(
        job.text,
        limit=state.settings.max_text_chars,
        language=job.language,
        field=job.text_field,
        tag_vocabulary=engine.tag_vocabulary(),
    )
    instruct = engine.instruction(job.instruct, field=job.instruct_field) if job.instruct else None
    if prepared.language not in caps.languages:
        raise ApiError(422, f"detected language '{prepared.language}' is not spoken by {caps.name}", param="language")
    return SynthesisRequest(
        text=prepared.text,
        request_id=request_id_var.get() or uuid.uuid4().hex,  # the X-Request-ID the middleware returns
        language=prepared.language,
        voice=job.voice,
        prompt=job.prompt,
        instruct=instruct,
        speed=job.speed,
    )


def _finish(state: ServiceState, result: SynthesisResult, job: Job) -> tuple[bytes, int]:
    audio, rate = result.audio, result.sample_rate
    if state.settings.loudness_lufs is not None:
        audio = normalize_loudness(audio, rate, state.settings.loudness_lufs)
    if job.sample_rate and job.sample_rate != rate:
        audio, rate = resample(audio, rate, job.sample_rate), job.sample_rate
    encoded = encode(audio, rate, job.fmt)
    return encoded.data, encoded.sample_rate


def _check_store(state: ServiceState, job: Job) -> bool:
    """Whether to store this result; 422 naming `store` when it cannot be done."""
    if job.store and job.stream:
        raise ApiError(422, "store=true cannot be combined with stream=true", param="store")
    if job.store and state.audio_store is None:
        raise ApiError(
            422, "this service has no outputs bucket (TTS_OUTPUTS_BUCKET), so it cannot store audio", param="store",
            code="storage_unavailable",
        )  # fmt: skip
    wanted = job.store if job.store is not None else state.settings.store_default
    return wanted and not job.stream and state.audio_store is not None


async def _store(
    state: ServiceState, job: Job, request: SynthesisRequest, result: SynthesisResult, data: bytes
) -> tuple[str, StoredAudio]:
    """Upload (or spool) the encoded audio under audio/YYYY/MM/DD/<id>.<ext> with its metadata."""
    assert state.audio_store is not None
    audio_id = new_audio_id()
    key = audio_key(audio_id, job.fmt, prefix=state.settings.outputs_prefix)
    voice = job.voice or (job.prompt.name if job.prompt is not None else None)
    meta = audio_metadata(
        engine=state.engine.capabilities.name, voice=voice, text=request.text, duration_s=result.duration_s
    )
    store = state.audio_store
    stored = await anyio.to_thread.run_sync(
        lambda: store.store(key, data, content_type=CONTENT_TYPES[job.fmt], metadata=meta)
    )
    state.metrics.uploads.labels("spooled" if stored.pending else "uploaded").inc()
    return audio_id, stored


async def synthesize_response(state: ServiceState, job: Job, http: Request) -> Response:
    """The audio for `job`: whole (with duration and notes in headers) or streamed as segments finish; when
    stored, the native API's store=true answers JSON with the URL, and a server-default store adds X-Audio-* headers."""
    request = _engine_request(state, job)
    store = _check_store(state, job)
    if job.stream:
        # Queued like any request (429/503 at once); the slot and the first audio come before the 200 is sent, so a
        # full queue, a late first audio (504) or an engine error is still a JSON error, not a broken stream.
        handle = await state.admission.open_stream(request, is_disconnected=http.is_disconnected)
        first = await handle.first()
        return StreamingResponse(
            _stream(state, handle, first, job),
            media_type=MEDIA_TYPES[job.fmt],
            headers={
                "X-Sample-Rate": str(job.sample_rate or state.engine.capabilities.sample_rate),
                "X-Request-Id": request.request_id,
            },
        )
    result = await state.admission.submit(request, is_disconnected=http.is_disconnected)
    data, rate = await anyio.to_thread.run_sync(_finish, state, result, job)
    headers = {
        "X-Sample-Rate": str(rate),
        "X-Audio-Duration": f"{result.duration_s:.3f}",
        "X-Request-Id": request.request_id,
        "Content-Disposition": f'inline; filename="speech.{job.fmt}"',
    }
    if result.notes:
        headers["X-Engine-Notes"] = json.dumps(list(result.notes))  # ASCII-escaped: headers are latin-1
    if store:
        audio_id, stored = await _store(state, job, request, result, data)
        if job.store:
            body: dict[str, Any] = {
                "id": audio_id,
                "key": stored.key,
                "url": stored.url,
                "pending": stored.pending,
                "format": job.fmt,
                "sample_rate": rate,
                "duration_s": round(result.duration_s, 3),
                "notes": list(result.notes),
            }
            return JSONResponse(body, headers={"X-Request-Id": request.request_id})
        pending = "true" if stored.pending else "false"
        headers |= {"X-Audio-Key": stored.key, "X-Audio-Url": stored.url, "X-Audio-Pending": pending}
    return Response(content=data, media_type=MEDIA_TYPES[job.fmt], headers=headers)


async def _stream(state: ServiceState, handle: StreamHandle, first: Audio | None, job: Job) -> AsyncIterator[bytes]:
    """WAV header (unknown length) then PCM16, or raw PCM16; loudness is left as the engine made it (the whole
    signal is needed to measure it), samples are clipped to [-1, 1]. A failure or the whole-stream deadline midway
    raises here, so the server ends the chunked body without its terminator: the client sees a broken stream."""
    rate = state.engine.capabilities.sample_rate
    started = time.perf_counter()
    try:
        if job.fmt == "wav":
            yield wav_header(job.sample_rate or rate)
        if first is not None:
            yield _pcm(first, rate, job)
        async for segment in handle.rest():
            yield _pcm(segment, rate, job)
    finally:
        await handle.aclose()  # the slot is free again the moment the stream ends, fails or loses its client
    state.metrics.synthesized(handle.samples / rate, time.perf_counter() - started)


def _pcm(segment: Audio, rate: int, job: Job) -> bytes:
    if job.sample_rate and job.sample_rate != rate:
        segment = resample(segment, rate, job.sample_rate)
    return to_pcm16(segment)
