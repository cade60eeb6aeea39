"""From validated request fields to an audio response; shared by the OpenAI-style and the native endpoints."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio.to_thread
from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from service.api.errors import ApiError
from service.api.state import ServiceState
from service.audio.encode import MEDIA_TYPES, AudioFormat, encode, to_pcm16, wav_header
from service.audio.loudness import normalize_loudness
from service.audio.resample import resample
from service.engines.base import SynthesisRequest, SynthesisResult, VoicePrompt
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
    language: str | None = None
    speed: float = 1.0
    stream: bool = False
    sample_rate: int | None = None


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
    prepared = prepare_text(job.text, limit=state.settings.max_text_chars, language=job.language, field=job.text_field)
    if prepared.language not in caps.languages:
        raise ApiError(422, f"detected language '{prepared.language}' is not spoken by {caps.name}", param="language")
    return SynthesisRequest(
        text=prepared.text,
        request_id=uuid.uuid4().hex,
        language=prepared.language,
        voice=job.voice,
        prompt=job.prompt,
        instruct=job.instruct or None,
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


async def synthesize_response(state: ServiceState, job: Job) -> Response:
    """The audio for `job`: whole (with duration and notes in headers) or streamed as segments finish."""
    request = _engine_request(state, job)
    if job.stream:
        return StreamingResponse(
            _stream(state, request, job),
            media_type=MEDIA_TYPES[job.fmt],
            headers={
                "X-Sample-Rate": str(job.sample_rate or state.engine.capabilities.sample_rate),
                "X-Request-Id": request.request_id,
            },
        )
    [result] = await state.synth.run([request])
    data, rate = await anyio.to_thread.run_sync(_finish, state, result, job)
    headers = {
        "X-Sample-Rate": str(rate),
        "X-Audio-Duration": f"{result.duration_s:.3f}",
        "X-Request-Id": request.request_id,
        "Content-Disposition": f'inline; filename="speech.{job.fmt}"',
    }
    if result.notes:
        headers["X-Engine-Notes"] = json.dumps(list(result.notes))  # ASCII-escaped: headers are latin-1
    return Response(content=data, media_type=MEDIA_TYPES[job.fmt], headers=headers)


async def _stream(state: ServiceState, request: SynthesisRequest, job: Job) -> AsyncIterator[bytes]:
    """WAV header (unknown length) then PCM16, or raw PCM16; loudness is left as the engine made it (the whole
    signal is needed to measure it), samples are clipped to [-1, 1]."""
    rate = state.engine.capabilities.sample_rate
    if job.fmt == "wav":
        yield wav_header(job.sample_rate or rate)
    async for segment in state.synth.stream(request):
        if job.sample_rate and job.sample_rate != rate:
            segment = resample(segment, rate, job.sample_rate)
        yield to_pcm16(segment)
