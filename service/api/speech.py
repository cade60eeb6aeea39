"""POST /v1/audio/speech — OpenAI-compatible (works with the openai SDK, Kokoro-FastAPI and openedai-speech clients)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.api.auth import current_tenant
from service.api.errors import ApiError, error_responses
from service.api.fields import Utf8Str, speakable_schema
from service.api.state import ServiceState, get_state
from service.api.synthesis import Job, require_content_type, resolve_voice, synthesize_response
from service.audio.encode import MEDIA_TYPES, AudioFormat
from service.engines.registry import OPENAI_MODEL_ALIASES
from service.tenants.keyring import Tenant

router = APIRouter(tags=["speech"])


async def json_body(request: Request) -> None:
    """Runs before body parsing, so a form or text body gets 415 naming Content-Type, not a parse error (async: a
    plain `def` dependency would cost a thread-pool hop per request)."""
    require_content_type(request, "application/json")


def _voice_schema(schema: dict[str, Any]) -> None:
    """A name, or OpenAI's custom voice reference (openai SDK: speech_create_params.VoiceID), a saved voice's name."""
    schema.pop("type", None)
    schema["anyOf"] = [
        {"type": "string"},
        {
            "type": "object",
            "properties": {"id": {"type": "string", "description": "A saved voice's name."}},
            "required": ["id"],
            "additionalProperties": False,
        },
    ]


class SpeechRequest(BaseModel):
    """OpenAI's speech request, plus `language`, `sample_rate` and `stream`. Unknown fields are refused (422 naming
    the field): a client asking for something this service would silently not do gets told."""

    model_config = ConfigDict(extra="forbid")

    model: Utf8Str = Field(
        default="tts-1", description="The engine name, or an OpenAI name (tts-1, tts-1-hd, gpt-4o-mini-tts)."
    )
    input: Utf8Str = Field(
        description="Text to say; pronunciation tags such as [M][AY0][N][UW1][T] or [j][ǐ] allowed.",
        json_schema_extra=speakable_schema,
    )
    voice: Utf8Str = Field(
        default="default",
        description="OpenAI's voice names (alloy, ash, ballad, cedar, coral, echo, fable, marin, nova, onyx, sage, "
        "shimmer, verse: built in on espeak, the seeded voice library on cosyvoice3), a saved voice, or "
        '{"id": "<saved voice>"} (GET /v1/voices lists what this key may use).',
        json_schema_extra=_voice_schema,
    )
    response_format: AudioFormat = Field(
        default="mp3", description="mp3, opus, aac, flac, wav, or pcm (24 kHz 16-bit mono little-endian)."
    )
    speed: float = Field(default=1.0, ge=0.25, le=4.0)
    instructions: Utf8Str | None = Field(
        default=None, max_length=500, description="Style or dialect, e.g. '请用广东话表达'."
    )
    stream_format: Literal["audio", "sse"] = Field(
        default="audio",
        description="audio: the audio itself, chunked as it is made; sse: speech.audio.delta / speech.audio.done "
        "server-sent events with base64 audio.",
    )
    stream: bool = Field(
        default=True,
        description="false: answer when the audio is complete, with Content-Length (and X-Audio-* headers when the "
        "server stores audio).",
    )
    language: Utf8Str | None = Field(
        default=None, description="zh, yue, en, ja, ...; detected from the text when absent."
    )
    sample_rate: int | None = Field(default=None, ge=8000, le=48000, description="Resample the output to this rate.")

    @field_validator("voice", mode="before")
    @classmethod
    def _voice_id(cls, value: object) -> object:
        """`{"id": "<name>"}` is the name (a plain validator, so an error's loc stays `voice`, no union branch)."""
        if isinstance(value, dict):
            if set(value) != {"id"} or not isinstance(value["id"], str):
                raise ValueError('a voice object is {"id": "<saved voice name>"}')
            return value["id"]
        return value


@router.post(
    "/v1/audio/speech",
    response_class=Response,
    responses={
        200: {
            # stream_format "sse": OpenAI's speech.audio.delta / speech.audio.done events (the fuzzer found it
            # undocumented: schemathesis ST105, tests/benchmarks/test_fuzz.py).
            "content": {**{media: {} for media in MEDIA_TYPES.values()}, "text/event-stream": {}},
            "description": "The audio, or with stream_format sse the audio as server-sent events",
        },
        **error_responses(400, 413, 415, 422, 429, 503, 504),
    },
    dependencies=[Depends(json_body)],
)
async def create_speech(
    body: SpeechRequest,
    state: Annotated[ServiceState, Depends(get_state)],
    tenant: Annotated[Tenant, Depends(current_tenant)],
    http: Request,
) -> Response:
    """Synthesize speech from JSON, OpenAI style (with TTS_STORE_DEFAULT, the stored copy's URL is in X-Audio-Url)."""
    engine_name = state.engine.capabilities.name
    if body.model not in (engine_name, *OPENAI_MODEL_ALIASES):
        raise ApiError(
            422,
            f"unknown model '{body.model}'; this service runs '{engine_name}' "
            f"(also accepted: {', '.join(OPENAI_MODEL_ALIASES)})",
            param="model",
            code="unknown_model",
        )
    if body.stream_format == "sse" and not body.stream:
        raise ApiError(422, "stream_format 'sse' is a stream; drop stream=false", param="stream_format")
    voice, prompt = await resolve_voice(state, body.voice, tenant)
    # Streamed unless the client says stream=false or the server stores every answer (that needs the whole audio).
    stream = body.stream and not (state.settings.store_default and state.audio_store is not None)
    job = Job(
        text=body.input,
        text_field="input",
        fmt=body.response_format,
        voice=voice,
        prompt=prompt,
        instruct=body.instructions,
        instruct_field="instructions",
        language=body.language,
        speed=body.speed,
        stream=stream,
        sse=body.stream_format == "sse",
        sample_rate=body.sample_rate,
    )
    return await synthesize_response(state, job, http)
