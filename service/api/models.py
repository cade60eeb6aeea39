"""GET /v1/models — the loaded engine and what it can do (OpenAI's list shape plus capabilities)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from service.api.errors import ApiError, error_responses
from service.api.state import ServiceState, get_state
from service.audio.encode import FORMATS
from service.engines.registry import OPENAI_MODEL_ALIASES

router = APIRouter(prefix="/v1/models", tags=["models"])


class CapabilitiesPublic(BaseModel):
    languages: list[str]
    sample_rate: int
    clone: bool
    instruct: bool
    phoneme_tags: bool
    streaming: bool
    batching: bool
    notes: list[str]


class ModelPublic(BaseModel):
    id: str
    object: Literal["model"] = "model"
    owned_by: str = "voicefleet"
    aliases: list[str]
    ready: bool
    max_text_chars: int
    max_upload_bytes: int
    formats: list[str]
    capabilities: CapabilitiesPublic


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelPublic]


def _model(state: ServiceState) -> ModelPublic:
    caps = state.engine.capabilities
    return ModelPublic(
        id=caps.name,
        aliases=list(OPENAI_MODEL_ALIASES),
        ready=state.status == "ready",
        max_text_chars=state.settings.max_text_chars,
        max_upload_bytes=state.settings.max_upload_bytes,
        formats=list(FORMATS),
        capabilities=CapabilitiesPublic(
            languages=list(caps.languages),
            sample_rate=caps.sample_rate,
            clone=caps.clone,
            instruct=caps.instruct,
            phoneme_tags=caps.phoneme_tags,
            streaming=caps.streaming,
            batching=caps.batching,
            notes=list(caps.notes),
        ),
    )


@router.get("", response_model=ModelList)
async def list_models(state: Annotated[ServiceState, Depends(get_state)]) -> ModelList:
    """Loaded engines and their capabilities."""
    return ModelList(data=[_model(state)])


@router.get("/{model_id}", response_model=ModelPublic, responses=error_responses(404, 422))
async def get_model(model_id: str, state: Annotated[ServiceState, Depends(get_state)]) -> ModelPublic:
    """One engine by name or OpenAI alias."""
    if model_id not in (state.engine.capabilities.name, *OPENAI_MODEL_ALIASES):
        raise ApiError(404, f"unknown model '{model_id}'", param="model", code="unknown_model")
    return _model(state)
