"""What the routes share, kept on `app.state.service`: settings, engine runner, voice store, lifecycle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fastapi import Request

from service.engines.base import Engine
from service.engines.runner import SynthRunner
from service.settings import Settings
from service.voices.store import VoiceStore

Status = Literal["loading", "ready", "failed", "draining"]


@dataclass
class ServiceState:
    settings: Settings
    engine: Engine
    synth: SynthRunner  # the one object that runs synthesis (part 2 swaps in admission + batching)
    voices: VoiceStore
    builtin_voices: tuple[str, ...]
    status: Status = "loading"
    load_error: str | None = None


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state
