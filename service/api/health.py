"""GET /healthz (the process is alive) and GET /readyz (loaded and accepting work); both open, no API key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from service.api.state import ServiceState, get_state

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Alive (answers even while the engine loads or the GPU is busy)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Loading, failed or draining"}})
async def readyz(state: Annotated[ServiceState, Depends(get_state)]) -> JSONResponse:
    """200 when the engine is loaded and accepting; 503 while loading, after a failed load, before the API keys
    could be read (no_keys), or while draining
    (a Spot notice, SIGTERM or a recycle turns it 503 at once, so the load balancer stops routing here)."""
    status = state.status
    state.metrics.ready.set(1 if status == "ready" else 0)
    body: dict[str, Any] = {"status": status, "engine": state.engine.capabilities.name}
    if state.load_error:
        body["error"] = state.load_error
    elif not state.engine.healthy:
        body["error"] = getattr(state.engine, "fatal_error", None) or "the engine reported an unrecoverable failure"
    if status == "draining":
        body["reason"] = state.admission.drain_reason
    if status == "no_keys":
        body["error"] = f"API keys not loaded yet: {state.keys.last_error or 'reading'}"
    if status == "ready":
        return JSONResponse(body)
    return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})
