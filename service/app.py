"""The FastAPI app factory: `create_app(settings)`.

Cheap checks and engine construction happen in the lifespan before the server accepts connections (a missing model
dir fails startup, naming the path); the heavy load runs in the background on the engine thread, so /healthz answers
at once and /readyz says 503 until the engine is loaded. service/lifecycle.py starts and stops the parts.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from service import lifecycle
from service.api import health, models, ops, speech, tts, voices
from service.api.auth import require_api_key
from service.api.errors import error_responses, install_error_handlers
from service.api.middleware import BodyLimitMiddleware, CloseWhileDrainingMiddleware, InternalErrorMiddleware
from service.engines.base import Engine
from service.engines.registry import build_engine
from service.logging import RequestContextMiddleware
from service.metrics import Metrics
from service.security import ApiKeyAuth
from service.settings import Settings
from service.tenants import refresh as keys_refresh

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).parent / "web"


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """The service. `engine` is a test hook only (serve this engine instead of the configured one, e.g. a fake
    that batches); deployments always build the engine from settings."""
    settings = settings or Settings()
    metrics = Metrics()
    keys = lifecycle.key_manager(settings, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        exit_server = getattr(app.state, "exit_server", None)  # set by service.server.build_server
        state = lifecycle.build_state(settings, engine or build_engine(settings), metrics, exit_server, keys)
        app.state.service = state
        keys_task = await keys.start()  # first read before the first request; then every keys_refresh_s
        loading = await lifecycle.start(state)
        try:
            yield
        finally:
            await lifecycle.stop(state, loading)
            await keys_refresh.stop(keys_task)

    app = FastAPI(
        title="voicefleet synthesis service",
        version="0.2.0",
        summary="Text to speech: CosyVoice3 on a GPU or embedded espeak-ng; OpenAI-compatible and native APIs.",
        lifespan=lifespan,
    )
    app.state.auth = ApiKeyAuth(keys)
    app.state.metrics = metrics
    install_error_handlers(app)
    for module in (health, ops):  # open: the load balancer and Prometheus carry no key
        app.include_router(module.router)
    for module in (models, speech, tts, voices):
        app.include_router(module.router, dependencies=[Depends(require_api_key)], responses=error_responses(401))
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", media_type="text/html")

    def draining() -> bool:
        state = getattr(app.state, "service", None)
        return state is not None and state.admission.draining

    app.add_middleware(BodyLimitMiddleware, json_limit=settings.max_json_bytes, upload_limit=settings.max_upload_bytes)
    app.add_middleware(InternalErrorMiddleware)  # inside the request-id middleware, so the 500 carries the id
    app.add_middleware(CloseWhileDrainingMiddleware, draining=draining)
    app.add_middleware(RequestContextMiddleware, on_request=metrics.request)  # outermost: ids every response
    return app
