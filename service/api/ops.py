"""GET /metrics (Prometheus, open like the health routes) and POST /admin/restart (admin key): operations routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from service.api.auth import require_admin
from service.api.errors import error_responses
from service.api.state import ServiceState, get_state

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(state: Annotated[ServiceState, Depends(get_state)]) -> Response:
    """The `voicefleet_*` metrics in Prometheus text format."""
    state.metrics.ready.set(1 if state.status == "ready" else 0)
    body, content_type = state.metrics.render()
    return Response(body, media_type=content_type)


@router.post(
    "/admin/restart", status_code=202, dependencies=[Depends(require_admin)], responses=error_responses(401, 403)
)
async def restart(state: Annotated[ServiceState, Depends(get_state)]) -> JSONResponse:
    """Recycle gracefully: stop admitting, finish in-flight work, flush the spool, exit 0 (systemd restarts)."""
    if not state.coordinator.started:
        state.metrics.recycle("admin")
        state.coordinator.trigger("admin restart")
    return JSONResponse({"status": "draining"}, status_code=202)
