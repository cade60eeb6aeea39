"""POST /v1/tts — the native multipart API: cloning from an uploaded clip, instructions, pronunciation tags."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from service.api.auth import current_tenant
from service.api.errors import ApiError, error_responses
from service.api.fields import Utf8Str, speakable_schema
from service.api.middleware import FORM_OVERHEAD_BYTES
from service.api.state import ServiceState, get_state
from service.api.synthesis import Job, require_content_type, resolve_voice, synthesize_response
from service.audio.encode import MEDIA_TYPES, AudioFormat
from service.audio.prompt import PromptAudioError, decode_prompt
from service.engines.base import VoicePrompt
from service.tenants.keyring import Tenant

router = APIRouter(tags=["speech"])
# Multipart framing and the text fields around the file.


class StoredAudioPublic(BaseModel):
    """The answer to store=true (JSON instead of audio): where the stored audio is."""

    id: str
    key: str
    url: str
    pending: bool
    format: str
    sample_rate: int
    duration_s: float
    notes: list[str]


async def form_body(request: Request, state: Annotated[ServiceState, Depends(get_state)]) -> None:
    """415 for a non-form body; 413 before reading when Content-Length already exceeds the upload cap."""
    require_content_type(request, "multipart/form-data", "application/x-www-form-urlencoded")
    declared = request.headers.get("content-length", "")
    limit = state.settings.max_upload_bytes
    if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD_BYTES:
        raise PromptAudioError(f"request is {declared} bytes; prompt_audio may be at most {limit} bytes", status=413)


async def read_upload(upload: UploadFile, *, limit: int, field: str) -> bytes:
    """The uploaded bytes, refusing more than `limit` without reading further."""
    allowed = ("audio/", "application/octet-stream", "video/ogg")
    if upload.content_type and not upload.content_type.startswith(allowed):
        raise PromptAudioError(
            f"{field} has content type '{upload.content_type}'; send an audio file (wav, flac, mp3, ogg)",
            field=field,
            status=415,
        )
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise PromptAudioError(f"{field} is larger than {limit} bytes", field=field, status=413)
    return data


@router.post(
    "/v1/tts",
    response_class=Response,
    responses={
        200: {
            "model": StoredAudioPublic,
            "content": {media: {} for media in MEDIA_TYPES.values()},
            "description": "The audio, or with store=true JSON naming where it is stored",
        },
        **error_responses(400, 413, 415, 422, 429, 503, 504),
    },
    dependencies=[Depends(form_body)],
)
async def tts(
    state: Annotated[ServiceState, Depends(get_state)],
    tenant: Annotated[Tenant, Depends(current_tenant)],
    text: Annotated[
        Utf8Str, Form(description="Text to say; pronunciation tags allowed.", json_schema_extra=speakable_schema)
    ],
    prompt_audio: Annotated[UploadFile | None, File(description="Voice to clone: 3-30 s, >= 16 kHz.")] = None,
    prompt_text: Annotated[Utf8Str | None, Form(max_length=500, description="Transcript of prompt_audio.")] = None,
    instruct: Annotated[Utf8Str | None, Form(max_length=500, description="Style or dialect instruction.")] = None,
    voice: Annotated[Utf8Str | None, Form(description="A built-in or saved voice (instead of prompt_audio).")] = None,
    language: Annotated[Utf8Str | None, Form()] = None,
    format: Annotated[AudioFormat, Form()] = "wav",
    speed: Annotated[float, Form(ge=0.25, le=4.0)] = 1.0,
    stream: Annotated[bool, Form()] = False,
    sample_rate: Annotated[int | None, Form(ge=8000, le=48000)] = None,
    store: Annotated[
        bool | None,
        Form(description="true: upload to the outputs bucket and answer JSON with its URL; default: the server's."),
    ] = None,
    *,
    http: Request,
) -> Response:
    """Synthesize speech, optionally cloning an uploaded voice clip; store=true answers with the stored audio's URL."""
    prompt: VoicePrompt | None = None
    builtin: str | None = None
    if prompt_audio is not None and (prompt_audio.filename or prompt_audio.size):
        if voice:
            raise ApiError(422, "give either voice or prompt_audio, not both", param="prompt_audio")
        data = await read_upload(prompt_audio, limit=state.settings.max_upload_bytes, field="prompt_audio")
        clip = await anyio.to_thread.run_sync(partial(decode_prompt, data, max_bytes=state.settings.max_upload_bytes))
        prompt = VoicePrompt(audio=clip.audio, sample_rate=clip.sample_rate, text=(prompt_text or "").strip() or None)
    elif prompt_text:
        raise ApiError(422, "prompt_text needs prompt_audio (the clip it transcribes)", param="prompt_text")
    else:
        builtin, prompt = await resolve_voice(
            state, voice or ("default" if "default" in state.builtin_voices else None), tenant
        )
    job = Job(
        text=text,
        text_field="text",
        fmt=format,
        voice=builtin,
        prompt=prompt,
        instruct=instruct,
        language=language or None,
        speed=speed,
        stream=stream,
        sample_rate=sample_rate,
        store=store,
    )
    return await synthesize_response(state, job, http)
