"""From validated request fields to an audio response; shared by the OpenAI-style and the native endpoints.

Every request goes through admission control (bounded queue, deadline, drain): whole-audio requests in batches, a
stream as one queued item that holds an engine slot while it generates. Stored audio goes to S3 (or the spool).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from fastapi import Request
from fastapi.responses import JSONResponse, Response

from service.admission.streams import StreamHandle
from service.api.errors import ApiError
from service.api.state import ServiceState
from service.api.stream_response import StreamResponse
from service.audio.deliver import deliver, output_rate
from service.audio.encode import MEDIA_TYPES, AudioFormat
from service.audio.stream_encode import StreamEncoder
from service.engines.base import Audio, SynthesisRequest, SynthesisResult, VoicePrompt
from service.logging import request_id_var
from service.storage import CONTENT_TYPES, StoredAudio, audio_key, audio_metadata, new_audio_id
from service.tenants.keyring import Tenant
from service.text import prepare_text
from service.voices.access import can_use
from service.voices.store import VoiceNotFoundError

SPEECH_TOKENS_PER_S = 25  # CosyVoice3's speech tokenizer rate (cosyvoice3.yaml token_frame_rate)


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
    sse: bool = False
    """Server-sent events (OpenAI's stream_format "sse"): base64 audio in speech.audio.delta events, then done."""
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


async def resolve_voice(state: ServiceState, name: str | None, tenant: Tenant) -> tuple[str | None, VoicePrompt | None]:
    """(built-in voice name, None) or (None, saved prompt this tenant may use); 422 naming `voice` otherwise,
    listing the voices this tenant can use (another tenant's unshared voice is unknown here, as if absent)."""
    if name is None or name in state.builtin_voices:
        return name, None
    try:
        voice, prompt = await anyio.to_thread.run_sync(state.voices.load, name)
        if not can_use(voice, tenant):
            raise VoiceNotFoundError(name)
    except (VoiceNotFoundError, ValueError) as exc:
        saved = await anyio.to_thread.run_sync(state.voices.list)
        usable = [v.name for v in saved if can_use(v, tenant)]
        known = ", ".join([*state.builtin_voices, *usable]) or "(none yet: save one with POST /v1/voices)"
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


def _finish(state: ServiceState, result: SynthesisResult, job: Job) -> tuple[SynthesisResult, bytes, int]:
    """The result, its audio as the answer carries it (service.audio.deliver), and the rate encoded at."""
    encoded = deliver(
        result.audio,
        result.sample_rate,
        job.fmt,
        loudness_lufs=state.settings.loudness_lufs,
        sample_rate=job.sample_rate,
    )
    return result, encoded.data, encoded.sample_rate


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
        encoder = StreamEncoder(job.fmt, state.engine.capabilities.sample_rate, output_rate(job.fmt, job.sample_rate))
        chunks = _sse(state, handle, first, encoder, request) if job.sse else _stream(state, handle, first, encoder)
        return StreamResponse(
            chunks,
            handle,
            media_type="text/event-stream" if job.sse else MEDIA_TYPES[job.fmt],
            headers={"X-Sample-Rate": str(encoder.sample_rate), "X-Request-Id": request.request_id},
        )
    # Loudness and encoding run in the engine's worker thread right after the engine call (one hand-off each way).
    result, data, rate = await state.admission.submit(
        request, is_disconnected=http.is_disconnected, finish=lambda result: _finish(state, result, job)
    )
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


async def _encoded(
    state: ServiceState, handle: StreamHandle, first: Audio | None, encoder: StreamEncoder
) -> AsyncGenerator[bytes, None]:
    """The stream's audio in the client's format as each segment finishes (loudness is left as the engine made it:
    the whole signal is needed to measure it). A failure or the whole-stream deadline midway raises here, so the
    server ends the chunked body without its terminator: the client sees a broken stream, never a clean end. Closed
    early (the client left or stopped reading: StreamResponse), it closes the handle at once."""
    rate = state.engine.capabilities.sample_rate
    started = time.perf_counter()
    try:
        if header := encoder.header():
            yield header
        if first is not None:
            yield await anyio.to_thread.run_sync(encoder.feed, first)
        async with aclosing(handle.rest()) as rest:
            async for segment in rest:
                yield await anyio.to_thread.run_sync(encoder.feed, segment)
        yield await anyio.to_thread.run_sync(encoder.finish)
    finally:
        encoder.close()
        await handle.aclose()  # the slot is free again the moment the stream ends, fails or loses its client
    state.metrics.synthesized(handle.samples / rate, time.perf_counter() - started)


async def _stream(
    state: ServiceState, handle: StreamHandle, first: Audio | None, encoder: StreamEncoder
) -> AsyncGenerator[bytes, None]:
    async with aclosing(_encoded(state, handle, first, encoder)) as encoded:
        async for data in encoded:
            if data:
                yield data


async def _sse(
    state: ServiceState, handle: StreamHandle, first: Audio | None, encoder: StreamEncoder, request: SynthesisRequest
) -> AsyncGenerator[bytes, None]:
    """OpenAI's speech stream events: `speech.audio.delta` with base64 audio, then `speech.audio.done` with usage
    (input tokens: characters of the text as the engine received it; output tokens: speech tokens at CosyVoice3's
    25 per second of audio, whichever engine made it)."""
    async with aclosing(_encoded(state, handle, first, encoder)) as encoded:
        async for data in encoded:
            if data:
                event = {"type": "speech.audio.delta", "audio": base64.b64encode(data).decode("ascii")}
                yield f"data: {json.dumps(event)}\n\n".encode()
    rate = state.engine.capabilities.sample_rate
    output_tokens = round(handle.samples / rate * SPEECH_TOKENS_PER_S)
    usage = {"input_tokens": len(request.text), "output_tokens": output_tokens}
    usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
    yield f"data: {json.dumps({'type': 'speech.audio.done', 'usage': usage})}\n\n".encode()
