"""The FastAPI app factory: `create_app(settings)`.

Lifespan: cheap checks and engine construction happen before the server accepts connections (a missing model dir
fails startup, naming the path); the heavy load runs in the background on the engine thread, so /healthz answers
at once and /readyz says 503 until the engine is loaded. Part 2 adds admission, storage, spot watch and metrics by
wrapping `state.synth` and appending to the lifespan's startup/shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from service.api import health, models, speech, tts, voices
from service.api.errors import install_error_handlers
from service.api.state import ServiceState
from service.engines.registry import build_engine
from service.engines.runner import SynthRunner
from service.settings import Settings
from service.voices.store import LocalVoiceStore

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).parent / "web"


def builtin_voice_names(engine_name: str) -> tuple[str, ...]:
    if engine_name == "espeak":
        from service.engines.espeak import BUILTIN_VARIANTS

        return tuple(BUILTIN_VARIANTS)
    return ()  # CosyVoice3 has no built-in speakers: every voice is a saved or uploaded prompt


async def _load(state: ServiceState) -> None:
    try:
        await state.synth.load()
    except Exception as exc:  # any load failure keeps the process alive but not ready, with the reason shown
        log.exception("engine %s failed to load", state.engine.capabilities.name)
        state.status, state.load_error = "failed", str(exc)
        return
    state.status = "ready"
    log.info("engine %s ready", state.engine.capabilities.name)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = build_engine(settings)
        state = ServiceState(
            settings=settings,
            engine=engine,
            synth=SynthRunner(engine),
            voices=LocalVoiceStore(settings.voices_dir),
            builtin_voices=builtin_voice_names(settings.engine),
        )
        app.state.service = state
        loading = asyncio.create_task(_load(state))
        try:
            yield
        finally:
            state.status = "draining"
            loading.cancel()
            await asyncio.to_thread(state.synth.close)

    app = FastAPI(
        title="voicefleet synthesis service",
        version="0.1.0",
        summary="Text to speech: CosyVoice3 on a GPU or embedded espeak-ng; OpenAI-compatible and native APIs.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for module in (health, models, speech, tts, voices):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", media_type="text/html")

    return app
