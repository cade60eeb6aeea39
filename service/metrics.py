"""The service's Prometheus metrics (`voicefleet_*`), one registry per app, and the helper that renders /metrics.

Names follow the Prometheus conventions: base units (seconds, bytes, `_ratio` for ratios), `_total` for counters, no
`_created` series (they double every counter and carry nothing a scraper uses), labels only with small fixed value
sets (route templates, never raw paths), and no metric that duplicates a standard one (resident memory is the
process collector's `process_resident_memory_bytes`). GPU gauges exist only once the engine reports a GPU: on a CPU
they are absent, not zero. `Metrics` is also the admission observer, the memory-hygiene
observer and the spool observer, so the parts report without knowing about Prometheus.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

from service.memory import MemorySample
from voicefleet_config.service import IN_FLIGHT_METRIC, QUEUE_DEPTH_METRIC

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
RTF_BUCKETS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0)
RECYCLE_TRIGGERS = ("requests", "memory", "admin")


class Metrics:
    """All metrics of one service process."""

    def __init__(self, registry: CollectorRegistry | None = None, *, process_collector: bool = True) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # process-wide; no registry here wants them
        self.registry = registry or CollectorRegistry(auto_describe=True)
        if process_collector:
            ProcessCollector(registry=self.registry)  # process_resident_memory_bytes, cpu, fds (standard names)
        r = self.registry
        self.requests = Counter(
            "voicefleet_http_requests", "HTTP requests by route template, method and status.",
            ["route", "method", "status"], registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "voicefleet_http_request_duration_seconds", "HTTP request latency.", ["route"],
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.queue_depth_gauge = Gauge(QUEUE_DEPTH_METRIC, "Requests waiting for the engine.", registry=r)
        self.queue_wait_hist = Histogram(
            "voicefleet_queue_wait_seconds", "Time from admission to the engine.", buckets=WAIT_BUCKETS, registry=r
        )
        self.in_flight_gauge = Gauge(IN_FLIGHT_METRIC, "Requests inside the engine.", registry=r)
        self.batch_size = Histogram(
            "voicefleet_batch_size", "Requests per engine batch.", buckets=BATCH_BUCKETS, registry=r
        )
        self.batch_duration = Histogram(
            "voicefleet_batch_duration_seconds", "Engine time per batch.", buckets=LATENCY_BUCKETS, registry=r
        )
        self.rejected_total = Counter(
            "voicefleet_admission_rejected", "Requests refused by admission control, by reason.", ["reason"],
            registry=r,
        )  # fmt: skip
        self.audio_seconds = Counter("voicefleet_audio_generated_seconds", "Seconds of audio generated.", registry=r)
        self.rtf = Histogram(
            "voicefleet_real_time_factor_ratio",
            "Engine time per batch or stream over the audio it made (lower is faster).",
            buckets=RTF_BUCKETS, registry=r,
        )  # fmt: skip
        self.engine_load = Gauge("voicefleet_engine_load_seconds", "Time the engine took to load.", registry=r)
        self.ready = Gauge("voicefleet_ready", "1 when the instance accepts requests.", registry=r)
        self.gpu_allocated: Gauge | None = None  # created with the first sample from a GPU (absent on a CPU)
        self.gpu_reserved: Gauge | None = None
        self.oom_total = Counter("voicefleet_engine_oom", "Batches that ran out of GPU memory.", registry=r)
        self.recycles = Counter(
            "voicefleet_recycles", "Graceful process recycles started, by trigger.", ["trigger"], registry=r
        )
        self.spool_files = Gauge("voicefleet_spool_files", "Audio files waiting in the local spool for S3.", registry=r)
        self.spool_bytes = Gauge("voicefleet_spool_bytes", "Bytes waiting in the local spool for S3.", registry=r)
        self.uploads = Counter(
            "voicefleet_storage_uploads", "Audio stored, by result (uploaded, spooled).", ["result"], registry=r
        )
        self.spot_notices = Counter(
            "voicefleet_spot_interruption_notices", "Spot interruption notices seen on IMDS.", registry=r
        )
        self.keys_refresh = Counter(
            "voicefleet_keys_refresh", "Reads of the API keys source, by result (ok, error: last good keys kept).",
            ["result"], registry=r,
        )  # fmt: skip
        self.keys_success = Gauge(
            "voicefleet_keys_last_success_timestamp_seconds", "When the API keys were last read successfully.",
            registry=r,
        )  # fmt: skip
        for result in ("ok", "error"):
            self.keys_refresh.labels(result)
        for trigger in RECYCLE_TRIGGERS:
            self.recycles.labels(trigger)

    # -- admission observer ----------------------------------------------------------------------------------------
    def queue_depth(self, depth: int) -> None:
        self.queue_depth_gauge.set(depth)

    def in_flight(self, count: int) -> None:
        self.in_flight_gauge.set(count)

    def queue_wait(self, seconds: float) -> None:
        self.queue_wait_hist.observe(seconds)

    def batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.batch_duration.observe(seconds)

    def rejected(self, reason: str) -> None:
        self.rejected_total.labels(reason).inc()

    def oom(self) -> None:
        self.oom_total.inc()

    # -- other parts -----------------------------------------------------------------------------------------------
    def memory(self, sample: MemorySample) -> None:
        if not sample.gpu_total_bytes:
            return  # no GPU: resident memory is process_resident_memory_bytes
        if self.gpu_allocated is None or self.gpu_reserved is None:
            self.gpu_allocated = Gauge(
                "voicefleet_gpu_memory_allocated_bytes", "GPU memory held by tensors.", registry=self.registry
            )
            self.gpu_reserved = Gauge(
                "voicefleet_gpu_memory_reserved_bytes", "GPU memory held by the caching allocator.",
                registry=self.registry,
            )  # fmt: skip
        self.gpu_allocated.set(sample.gpu_allocated_bytes)
        self.gpu_reserved.set(sample.gpu_reserved_bytes)

    def spool(self, files: int, size_bytes: int) -> None:
        self.spool_files.set(files)
        self.spool_bytes.set(size_bytes)

    def synthesized(self, audio_seconds: float, synthesis_seconds: float) -> None:
        """One request's audio: counts seconds generated and its real-time factor."""
        self.audio_seconds.inc(audio_seconds)
        if audio_seconds > 0:
            self.rtf.observe(synthesis_seconds / audio_seconds)

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def keys_refreshed(self, ok: bool) -> None:
        self.keys_refresh.labels("ok" if ok else "error").inc()
        if ok:
            self.keys_success.set_to_current_time()

    def recycle(self, trigger: str) -> None:
        self.recycles.labels(trigger if trigger in RECYCLE_TRIGGERS else "memory").inc()

    def render(self) -> tuple[bytes, str]:
        """(body, content type) for GET /metrics."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
