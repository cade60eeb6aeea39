"""A miniature of the phase-2 service wiring, built only from the part-2 modules plus the fake batch engine.

It is what docs/service-part2.md's integration plan describes, small enough to run under test with a real uvicorn
(in-process, or as a subprocess through `python -m tests.service.fakes.harness_app` to see the process exit).
Configuration comes from HARNESS_* environment variables.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import soundfile as sf
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from service.admission import AdmissionController, AdmissionError, AdmissionSettings
from service.admission.shutdown import DrainingServer, ShutdownCoordinator
from service.engines.base import EngineError, SynthesisRequest
from service.logging import RequestContextMiddleware, configure_logging
from service.memory import MemoryHygiene, MemoryLimits
from service.metrics import Metrics
from service.security import ApiKeyAuth
from service.spot import SpotNotice, SpotWatcher
from service.storage import AudioStore, Spool, audio_key, audio_metadata, new_audio_id, s3_client
from tests.service.fakes.batch_engine import BatchEngine


@dataclass
class HarnessConfig:
    api_keys: list[str] = field(default_factory=list)
    admin_key: str | None = None
    bucket: str | None = None
    s3_endpoint: str | None = None
    spool_dir: Path | None = None
    imds_endpoint: str | None = None
    spot_interval_s: float = 0.1
    engine_delay_s: float = 0.02
    recycle_after_requests: int = 0
    flush_timeout_s: float = 10.0
    admission: AdmissionSettings = field(default_factory=AdmissionSettings)

    @classmethod
    def from_env(cls) -> HarnessConfig:
        env = os.environ
        return cls(
            api_keys=[k for k in env.get("HARNESS_API_KEYS", "").split(",") if k],
            admin_key=env.get("HARNESS_ADMIN_KEY") or None,
            bucket=env.get("HARNESS_BUCKET") or None,
            s3_endpoint=env.get("HARNESS_S3_ENDPOINT") or None,
            spool_dir=Path(env["HARNESS_SPOOL_DIR"]) if env.get("HARNESS_SPOOL_DIR") else None,
            imds_endpoint=env.get("HARNESS_IMDS") or None,
            spot_interval_s=float(env.get("HARNESS_SPOT_INTERVAL", "0.1")),
            engine_delay_s=float(env.get("HARNESS_ENGINE_DELAY", "0.02")),
            recycle_after_requests=int(env.get("HARNESS_RECYCLE_AFTER", "0")),
            admission=AdmissionSettings(
                max_queue=int(env.get("HARNESS_MAX_QUEUE", "64")),
                max_batch=int(env.get("HARNESS_MAX_BATCH", "4")),
                max_concurrency=int(env.get("HARNESS_MAX_CONCURRENCY", "4")),
                max_wait_ms=int(env.get("HARNESS_MAX_WAIT_MS", "10")),
            ),
        )


class SpeakRequest(BaseModel):
    text: str = Field(min_length=1, max_length=200)
    store: bool = False


@dataclass
class Parts:
    engine: BatchEngine
    admission: AdmissionController
    metrics: Metrics
    coordinator: ShutdownCoordinator
    store: AudioStore | None
    spot: SpotWatcher | None


def build_app(cfg: HarnessConfig) -> tuple[FastAPI, Parts]:
    engine = BatchEngine(delay_s=cfg.engine_delay_s)
    metrics = Metrics(process_collector=False)
    limits = MemoryLimits(recycle_after_requests=cfg.recycle_after_requests)
    hygiene = MemoryHygiene(engine, limits, observe=metrics.memory)
    store = None
    if cfg.bucket and cfg.spool_dir:
        store = AudioStore(
            s3_client("us-east-1", cfg.s3_endpoint), cfg.bucket, Spool(cfg.spool_dir),
            retry_base_s=0.05, retry_max_s=0.5, on_spool_change=metrics.spool,
        )  # fmt: skip
    coordinator_box: list[ShutdownCoordinator] = []

    def on_recycle(reason: str) -> None:
        metrics.recycle("requests" if "requests" in reason else "memory")
        coordinator_box[0].trigger(f"recycle: {reason}")

    admission = AdmissionController(
        engine, cfg.admission, observer=metrics, after_batch=hygiene.after_batch, on_recycle=on_recycle
    )
    coordinator = ShutdownCoordinator(admission, audio_store=store, flush_timeout_s=cfg.flush_timeout_s)
    coordinator_box.append(coordinator)
    auth = ApiKeyAuth(cfg.api_keys, cfg.admin_key)

    async def on_notice(notice: SpotNotice) -> None:
        metrics.spot_notices.inc()
        coordinator.trigger(f"spot interruption notice ({notice.action} at {notice.time})")

    spot = None
    if cfg.imds_endpoint:
        spot = SpotWatcher(on_notice, endpoint=cfg.imds_endpoint, interval_s=cfg.spot_interval_s)
    parts = Parts(engine, admission, metrics, coordinator, store, spot)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        coordinator.bind()
        started = time.perf_counter()
        await asyncio.to_thread(engine.load)
        metrics.engine_load.set(time.perf_counter() - started)
        await admission.start()
        admission.set_ready()
        if store is not None:
            store.start()
        if spot is not None:
            spot.start()
        yield
        await coordinator.run("server stopping")
        if spot is not None:
            await spot.stop()
        if store is not None:
            store.stop()
        await admission.close()

    app = FastAPI(lifespan=lifespan)
    app.add_middleware(RequestContextMiddleware, on_request=metrics.request)

    @app.middleware("http")
    async def close_while_draining(request: Request, call_next: Any) -> Any:
        """Draining: no keep-alive, so no client sends its next request on a connection about to be closed."""
        response = await call_next(request)
        if admission.draining:
            response.headers["Connection"] = "close"
        return response

    @app.exception_handler(AdmissionError)
    async def admission_error(_request: Request, exc: AdmissionError) -> JSONResponse:
        headers = {"Retry-After": exc.retry_after_header} if exc.retry_after_header else None
        body = {"error": {"code": exc.code, "message": exc.message}}
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        metrics.ready.set(1 if admission.accepting else 0)
        if admission.accepting:
            return JSONResponse({"status": "ready"})
        reason = admission.drain_reason or "loading"
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503, headers={"Retry-After": "5"})

    @app.get("/metrics")
    async def metrics_route() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    @app.post("/v1/speak", dependencies=[Depends(auth.require_api_key)], response_model=None)
    async def speak(body: SpeakRequest, request: Request) -> Any:
        started = time.perf_counter()
        try:
            result = await admission.submit(
                SynthesisRequest(text=body.text, request_id=new_audio_id()), is_disconnected=request.is_disconnected
            )
        except EngineError as exc:
            return JSONResponse({"error": {"code": "engine_error", "message": str(exc)}}, status_code=422)
        metrics.synthesized(result.duration_s, time.perf_counter() - started)
        buffer = io.BytesIO()
        sf.write(buffer, result.audio, result.sample_rate, format="WAV")
        if not body.store or store is None:
            return Response(buffer.getvalue(), media_type="audio/wav")
        audio_id = new_audio_id()
        key = audio_key(audio_id, "wav")
        meta = audio_metadata(engine="batchfake", voice=None, text=body.text, duration_s=result.duration_s)
        stored = await run_in_threadpool(store.store, key, buffer.getvalue(), content_type="audio/wav", metadata=meta)
        metrics.uploads.labels("spooled" if stored.pending else "uploaded").inc()
        return {"id": audio_id, "key": stored.key, "url": stored.url, "pending": stored.pending}

    @app.post("/admin/restart", dependencies=[Depends(auth.require_admin)])
    async def restart() -> dict[str, str]:
        metrics.recycle("admin")
        coordinator.trigger("admin restart")
        return {"status": "draining"}

    return app, parts


def main() -> None:
    """Run as a process: `HARNESS_PORT=8123 python -m tests.service.fakes.harness_app` (exit 0 after a drain)."""
    import uvicorn

    configure_logging("INFO")
    app, parts = build_app(HarnessConfig.from_env())
    port = int(os.environ["HARNESS_PORT"])
    server = DrainingServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    server.coordinator = parts.coordinator
    parts.coordinator.exit_server = lambda: setattr(server, "should_exit", True)
    server.run()


if __name__ == "__main__":
    main()
