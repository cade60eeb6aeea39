"""What the routes share, kept on `app.state.service`: settings, engine, admission, storage, metrics, lifecycle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fastapi import Request

from service.admission import AdmissionController
from service.admission.shutdown import ShutdownCoordinator
from service.engines.base import Engine
from service.engines.runner import SynthRunner
from service.memory import MemoryHygiene
from service.metrics import Metrics
from service.settings import Settings
from service.spot import SpotWatcher
from service.storage import AudioStore
from service.tenants.refresh import KeyManager
from service.voices.store import VoiceStore

Status = Literal["loading", "ready", "failed", "draining", "no_keys"]


@dataclass
class ServiceState:
    settings: Settings
    engine: Engine
    synth: SynthRunner  # the engine's worker threads: load here; batches and streams through `admission`
    admission: AdmissionController  # every non-streamed request goes through here: queue, batches, drain
    coordinator: ShutdownCoordinator  # the one drain sequence (Spot notice, SIGTERM, recycle, admin restart)
    hygiene: MemoryHygiene
    metrics: Metrics
    voices: VoiceStore
    builtin_voices: tuple[str, ...]
    keys: KeyManager
    audio_store: AudioStore | None = None
    spot: SpotWatcher | None = None
    loaded: bool = False
    load_error: str | None = None

    @property
    def status(self) -> Status:
        """What /readyz reports; only "ready" takes traffic."""
        if self.load_error is not None or not self.engine.healthy:
            return "failed"
        if self.admission.draining:
            return "draining"
        if self.keys.keyring is None:
            return "no_keys"  # a keyed environment that has not read its keys yet could only answer 503
        return "ready" if self.admission.accepting else "loading"


async def get_state(request: Request) -> ServiceState:
    """async on purpose: FastAPI runs a plain `def` dependency on its thread pool, a thread hop per request."""
    state: ServiceState = request.app.state.service
    return state
