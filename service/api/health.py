"""GET /healthz (the process is alive) and GET /readyz (the engine is loaded and the service accepts work)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from service.api.state import ServiceState, get_state

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Alive (answers even while the engine loads)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Loading, failed or draining"}})
async def readyz(state: Annotated[ServiceState, Depends(get_state)]) -> JSONResponse:
    """200 when the engine is loaded and accepting; 503 while loading, after a failed load, or while draining."""
    body = {"status": state.status, "engine": state.engine.capabilities.name}
    if state.load_error:
        body["error"] = state.load_error
    return JSONResponse(status_code=200 if state.status == "ready" else 503, content=body)
