"""GET/POST/DELETE /v1/voices — built-in voices and saved clone prompts, usable as `voice` in both speech APIs."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from service.api.errors import ApiError, error_responses
from service.api.fields import Utf8Str
from service.api.state import ServiceState, get_state
from service.api.tts import form_body, read_upload
from service.audio.prompt import decode_prompt
from service.voices.store import SavedVoice, check_name

router = APIRouter(prefix="/v1/voices", tags=["voices"])
T = TypeVar("T")


class VoicePublic(BaseModel):
    name: str
    kind: Literal["builtin", "saved"]
    text: str | None = None
    language: str | None = None
    sample_rate: int | None = None
    duration_s: float | None = None
    created_at: str | None = None


class VoiceList(BaseModel):
    voices: list[VoicePublic]


def _public(voice: SavedVoice) -> VoicePublic:
    return VoicePublic(kind="saved", **voice.__dict__)


@router.get("", response_model=VoiceList)
async def list_voices(state: Annotated[ServiceState, Depends(get_state)]) -> VoiceList:
    """List built-in and saved voices."""
    saved = await anyio.to_thread.run_sync(state.voices.list)
    builtin = [VoicePublic(name=name, kind="builtin") for name in state.builtin_voices]
    return VoiceList(voices=builtin + [_public(v) for v in saved])


@router.get("/{name}", response_model=VoicePublic, responses=error_responses(404, 422))
async def get_voice(name: str, state: Annotated[ServiceState, Depends(get_state)]) -> VoicePublic:
    """One voice."""
    if name in state.builtin_voices:
        return VoicePublic(name=name, kind="builtin")
    return _public(await anyio.to_thread.run_sync(state.voices.get, name))


@router.post(
    "",
    response_model=VoicePublic,
    status_code=201,
    dependencies=[Depends(form_body)],
    responses=error_responses(400, 409, 413, 415, 422),
)
async def create_voice(
    state: Annotated[ServiceState, Depends(get_state)],
    name: Annotated[Utf8Str, Form(description="1-64 of a-z 0-9 - _")],
    audio: Annotated[
        UploadFile | None,
        File(description="The clip to clone: 3-30 s, >= 16 kHz, wav/flac/mp3/ogg. Give this or prompt_audio."),
    ] = None,
    text: Annotated[
        Utf8Str | None, Form(max_length=500, description="What the clip says (improves cloning). Or prompt_text.")
    ] = None,
    language: Annotated[Utf8Str | None, Form()] = None,
    prompt_audio: Annotated[
        UploadFile | None, File(description="Same as audio, under the name POST /v1/tts uses; give one of the two.")
    ] = None,
    prompt_text: Annotated[
        Utf8Str | None, Form(max_length=500, description="Same as text, under the name POST /v1/tts uses.")
    ] = None,
) -> VoicePublic:
    """Save a voice prompt (audio + transcript) under a name."""
    field, upload = _either("audio", _given(audio), "prompt_audio", _given(prompt_audio))
    if upload is None:
        message = "audio is required: the clip to clone (prompt_audio, the name POST /v1/tts uses, works too)"
        raise ApiError(422, message, param="audio", code="missing")
    _, transcript = _either("text", text or None, "prompt_text", prompt_text or None)
    check_name(name)
    if name in state.builtin_voices:
        raise ApiError(409, f"'{name}' is a built-in voice; choose another name", param="name", code="voice_exists")
    limit = state.settings.max_upload_bytes
    data = await read_upload(upload, limit=limit, field=field)
    clip = await anyio.to_thread.run_sync(partial(decode_prompt, data, max_bytes=limit, field=field))
    save = partial(
        state.voices.save,
        name,
        clip.audio,
        clip.sample_rate,
        text=(transcript or "").strip(),
        language=language or None,
    )
    return _public(await anyio.to_thread.run_sync(save))


def _given(upload: UploadFile | None) -> UploadFile | None:
    """An empty file part (what a browser form sends for an unused file input) counts as not given."""
    return upload if upload is not None and (upload.filename or upload.size) else None


def _either(name: str, value: T | None, alias: str, alias_value: T | None) -> tuple[str, T | None]:
    """(field name, value) for a value that may come under either of two names; 422 naming the alias for both."""
    if value is not None and alias_value is not None:
        raise ApiError(422, f"give either {name} or {alias}, not both (they are the same field)", param=alias)
    return (alias, alias_value) if alias_value is not None else (name, value)


@router.delete("/{name}", status_code=204, response_class=Response, responses=error_responses(404, 409, 422))
async def delete_voice(name: str, state: Annotated[ServiceState, Depends(get_state)]) -> Response:
    """Delete a saved voice."""
    if name in state.builtin_voices:
        raise ApiError(409, f"'{name}' is a built-in voice and cannot be deleted", param="name", code="voice_builtin")
    await anyio.to_thread.run_sync(state.voices.delete, name)
    state.engine.forget_voice(name)
    return Response(status_code=204)
