"""The uvicorn server `tts-serve` runs (and the tests run in-process): drains on SIGTERM, exits when drained."""

from __future__ import annotations

from typing import Any

import uvicorn
from fastapi import FastAPI

from service.admission.shutdown import DrainingServer


def build_server(app: FastAPI, *, host: str, port: int, **config: Any) -> DrainingServer:
    """A DrainingServer for `app` (from create_app): the first SIGTERM/SIGINT, a Spot notice, a recycle or
    POST /admin/restart runs the drain sequence, at whose end the server stops (exit code 0)."""
    config.setdefault("log_config", None)  # logging is configured once, as JSON (service.logging)
    # One worker per GPU: the engine owns the device.
    server = DrainingServer(uvicorn.Config(app, host=host, port=port, workers=1, **config))
    app.state.exit_server = lambda: setattr(server, "should_exit", True)
    return server
