"""Start and stop the service's parts in order, inside the app's lifespan.

Startup: engine thread -> memory hygiene -> admission (batcher) -> audio store (+ spool retry thread) -> shutdown
coordinator -> Spot watcher; the engine loads in the background, so /healthz answers at once and /readyz turns
200 when it is loaded. Shutdown runs the one drain sequence (stop admitting, finish admitted work, flush the spool),
then stops the parts in reverse order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from service.admission import AdmissionController, AdmissionSettings
from service.admission.shutdown import ShutdownCoordinator
from service.api.state import ServiceState
from service.engines.base import Engine
from service.engines.runner import SynthRunner, engine_workers
from service.memory import MemoryHygiene, MemoryLimits, sample
from service.metrics import Metrics
from service.settings import Settings
from service.spot import SpotNotice, SpotWatcher
from service.storage import AudioStore, Spool, s3_client
from service.tenants import refresh as keys_refresh
from service.tenants.refresh import KeyManager
from service.voices.local import LocalVoiceStore
from service.voices.s3 import S3VoiceStore
from service.voices.store import VoiceStore

log = logging.getLogger(__name__)


def builtin_voice_names(engine: Engine) -> tuple[str, ...]:
    if engine.capabilities.name == "espeak":
        from service.engines.espeak import BUILTIN_VARIANTS

        return tuple(BUILTIN_VARIANTS)
    # CosyVoice3 has no built-in speakers: every voice is a saved or uploaded prompt. Test engines may declare some.
    return tuple(getattr(engine, "builtin_voices", ()))


def voice_store(settings: Settings) -> VoiceStore:
    """S3 (shared by every instance of the fleet) when TTS_VOICES_BUCKET is set, else local disk."""
    if settings.voices_bucket:
        client = s3_client(settings.s3_region, settings.s3_endpoint_url)
        return S3VoiceStore(client, settings.voices_bucket, settings.voices_prefix)
    return LocalVoiceStore(settings.voices_dir)


def audio_store(settings: Settings, metrics: Metrics) -> AudioStore | None:
    if not settings.outputs_bucket:
        return None
    return AudioStore(
        s3_client(settings.s3_region, settings.s3_endpoint_url),
        settings.outputs_bucket,
        Spool(settings.spool_dir),
        cdn_domain=settings.cdn_domain,
        presign_expiry_s=settings.presign_expiry_s,
        retry_base_s=settings.spool_retry_base_s,
        retry_max_s=settings.spool_retry_max_s,
        on_spool_change=metrics.spool,
    )


def key_manager(settings: Settings, metrics: Metrics) -> KeyManager:
    """The API keys from wherever the settings name them (service/tenants), re-read every keys_refresh_s."""
    return keys_refresh.key_manager(
        environment=settings.environment,
        api_keys=settings.api_keys,
        api_keys_file=settings.api_keys_file,
        api_keys_secret=settings.api_keys_secret,
        admin_key=settings.admin_key,
        admin_key_file=settings.admin_key_file,
        admin_key_secret=settings.admin_key_secret,
        interval_s=settings.keys_refresh_s,
        secrets_endpoint_url=settings.secrets_endpoint_url,
        on_refresh=metrics.keys_refreshed,
    )


def build_state(
    settings: Settings, engine: Engine, metrics: Metrics, exit_server: Callable[[], None] | None, keys: KeyManager
) -> ServiceState:
    """Every part, wired; nothing started yet."""
    workers = engine_workers(engine, max_concurrency=settings.max_concurrency, max_batch=settings.max_batch)
    runner = SynthRunner(engine, workers=workers)
    limits = MemoryLimits(
        max_rss_bytes=settings.max_rss_bytes,
        max_gpu_reserved_bytes=settings.max_gpu_reserved_bytes,
        max_gpu_reserved_fraction=settings.max_gpu_reserved_fraction,
        recycle_after_requests=settings.recycle_after_requests,
    )
    hygiene = MemoryHygiene(engine, limits, observe=metrics.memory)

    def on_recycle(reason: str) -> None:
        metrics.recycle("requests" if reason.startswith("served") else "memory")
        coordinator.trigger(f"recycle: {reason}")

    # Batches and streams share `workers` engine slots (1 for espeak; up to max_concurrency for CosyVoice3).
    admission = AdmissionController(
        engine,
        AdmissionSettings.from_limits(settings, oom_retry_alone=settings.oom_retry_alone),
        observer=metrics,
        after_batch=hygiene.after_batch,
        on_recycle=on_recycle,
        engine_workers=workers,
        executor=runner.executor,
    )
    store = audio_store(settings, metrics)
    coordinator = ShutdownCoordinator(
        admission,
        audio_store=store,
        drain_timeout_s=settings.resolved_drain_timeout_s,
        flush_timeout_s=settings.flush_timeout_s,
        exit_server=exit_server,
    )
    spot = None
    if settings.spot_watch:

        async def on_notice(notice: SpotNotice) -> None:
            metrics.spot_notices.inc()
            coordinator.trigger(f"spot interruption notice ({notice.action} at {notice.time})")

        spot = SpotWatcher(on_notice, endpoint=settings.imds_endpoint, interval_s=settings.spot_poll_s)
    return ServiceState(
        settings=settings,
        engine=engine,
        synth=runner,
        admission=admission,
        coordinator=coordinator,
        hygiene=hygiene,
        metrics=metrics,
        voices=voice_store(settings),
        builtin_voices=builtin_voice_names(engine),
        keys=keys,
        audio_store=store,
        spot=spot,
    )


async def load_engine(state: ServiceState) -> None:
    """Load on the engine thread; ready only when it worked (a failed load keeps the process alive, not ready)."""
    started = time.perf_counter()
    try:
        await state.synth.load()
    except Exception as exc:
        log.exception("engine %s failed to load", state.engine.capabilities.name)
        state.load_error = str(exc)
        return
    state.metrics.engine_load.set(time.perf_counter() - started)
    state.metrics.memory(await asyncio.to_thread(sample, state.engine))
    state.loaded = True
    state.admission.set_ready()
    state.metrics.ready.set(1 if state.admission.accepting else 0)
    log.info("engine %s ready", state.engine.capabilities.name, extra={"event": "ready"})


async def start(state: ServiceState) -> asyncio.Task[None]:
    """Start every part; returns the background engine-load task."""
    state.coordinator.bind()
    await state.admission.start()
    if state.audio_store is not None:
        state.audio_store.start()  # also uploads what a previous process left in the spool
        state.metrics.spool(len(state.audio_store.spool), state.audio_store.spool.size_bytes())
    if state.spot is not None:
        state.spot.start()
    return asyncio.create_task(load_engine(state), name="engine-load")


async def stop(state: ServiceState, loading: asyncio.Task[None]) -> None:
    """Drain (no-op when a drain already ran), then stop the parts in reverse order."""
    report = await state.coordinator.run("server stopping")
    state.metrics.ready.set(0)
    loading.cancel()
    if state.spot is not None:
        await state.spot.stop()
    if state.audio_store is not None:
        await asyncio.to_thread(state.audio_store.stop)
    await state.admission.close()
    await asyncio.to_thread(state.synth.close)
    log.info("stopped: %s", report.reason, extra={"event": "stopped", "reason": report.reason})
