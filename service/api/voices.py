"""GET/POST/DELETE /v1/voices — built-in voices and saved clone prompts, usable as `voice` in both speech APIs.

Saved voices belong to the tenant whose key saved them (service/voices/access.py): another tenant neither lists,
uses nor deletes them unless they are shared; an admin key manages all."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from service.api.auth import current_tenant
from service.api.errors import ApiError, error_responses
from service.api.fields import Utf8Str
from service.api.state import ServiceState, get_state
from service.api.tts import form_body, read_upload
from service.audio.prompt import decode_prompt
from service.tenants.keyring import Tenant
from service.voices.access import can_delete, can_use
from service.voices.store import SavedVoice, VoiceNotFoundError, check_name

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
    owner: str | None = Field(default=None, description="The tenant whose key saved it (saved voices).")
    shared: bool | None = Field(default=None, description="Usable by every tenant (saved voices).")


class VoiceList(BaseModel):
    voices: list[VoicePublic]


def _public(voice: SavedVoice) -> VoicePublic:
    return VoicePublic(kind="saved", **voice.__dict__)


@router.get("", response_model=VoiceList)
async def list_voices(
    state: Annotated[ServiceState, Depends(get_state)], tenant: Annotated[Tenant, Depends(current_tenant)]
) -> VoiceList:
    """List built-in voices, and the saved voices this key may use (its own and shared ones; all for an admin)."""
    saved = await anyio.to_thread.run_sync(state.voices.list)
    builtin = [VoicePublic(name=name, kind="builtin") for name in state.builtin_voices]
    return VoiceList(voices=builtin + [_public(v) for v in saved if can_use(v, tenant)])


async def _visible(state: ServiceState, name: str, tenant: Tenant) -> SavedVoice:
    """The saved voice, or 404 when it does not exist or this key may not see it (the same answer)."""
    voice = await anyio.to_thread.run_sync(state.voices.get, name)
    if not can_use(voice, tenant):
        raise VoiceNotFoundError(name)
    return voice


@router.get("/{name}", response_model=VoicePublic, responses=error_responses(404, 422))
async def get_voice(
    name: str, state: Annotated[ServiceState, Depends(get_state)], tenant: Annotated[Tenant, Depends(current_tenant)]
) -> VoicePublic:
    """One voice (404 for another tenant's unshared voice)."""
    if name in state.builtin_voices:
        return VoicePublic(name=name, kind="builtin")
    return _public(await _visible(state, name, tenant))


@router.post(
    "",
    response_model=VoicePublic,
    status_code=201,
    dependencies=[Depends(form_body)],
    responses=error_responses(400, 409, 413, 415, 422),
)
async def create_voice(
    state: Annotated[ServiceState, Depends(get_state)],
    tenant: Annotated[Tenant, Depends(current_tenant)],
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
    shared: Annotated[
        bool, Form(description="true: every tenant may use (not delete) it; false: only this key's tenant.")
    ] = False,
) -> VoicePublic:
    """Save a voice prompt (audio + transcript) under a name, owned by this key's tenant."""
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
        owner=tenant.name,
        shared=shared,
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


@router.delete("/{name}", status_code=204, response_class=Response, responses=error_responses(403, 404, 409, 422))
async def delete_voice(
    name: str, state: Annotated[ServiceState, Depends(get_state)], tenant: Annotated[Tenant, Depends(current_tenant)]
) -> Response:
    """Delete a saved voice this key's tenant owns (an admin key: any)."""
    if name in state.builtin_voices:
        raise ApiError(409, f"'{name}' is a built-in voice and cannot be deleted", param="name", code="voice_builtin")
    voice = await _visible(state, name, tenant)
    if not can_delete(voice, tenant):
        raise ApiError(
            403,
            f"voice '{name}' is shared by tenant '{voice.owner}'; only its owner or an admin key may delete it",
            param="name",
            code="voice_not_owned",
        )
    await anyio.to_thread.run_sync(state.voices.delete, name)
    state.engine.forget_voice(name)
    return Response(status_code=204)
