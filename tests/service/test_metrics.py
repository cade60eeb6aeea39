"""The /metrics set: every metric the issue lists exists, is prefixed voicefleet_, follows Prometheus naming,
and moves when the parts report."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.admission import AdmissionController, AdmissionSettings, QueueFullError
from service.engines.base import SynthesisRequest
from service.memory import MemorySample
from service.metrics import Metrics
from tests.service.fakes.batch_engine import BatchEngine

EXPECTED = {
    "voicefleet_http_requests": "counter",
    "voicefleet_http_request_duration_seconds": "histogram",
    "voicefleet_queue_depth": "gauge",
    "voicefleet_queue_wait_seconds": "histogram",
    "voicefleet_in_flight_requests": "gauge",
    "voicefleet_batch_size": "histogram",
    "voicefleet_batch_duration_seconds": "histogram",
    "voicefleet_admission_rejected": "counter",
    "voicefleet_audio_generated_seconds": "counter",
    "voicefleet_real_time_factor_ratio": "histogram",
    "voicefleet_engine_load_seconds": "gauge",
    "voicefleet_recycles": "counter",
    "voicefleet_spool_files": "gauge",
    "voicefleet_spool_bytes": "gauge",
    "voicefleet_spot_interruption_notices": "counter",
    "voicefleet_engine_oom": "counter",
    "voicefleet_ready": "gauge",
    "voicefleet_storage_uploads": "counter",
    "voicefleet_keys_refresh": "counter",
    "voicefleet_keys_last_success_timestamp_seconds": "gauge",
}


def families(metrics: Metrics) -> dict[str, object]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain; version=")
    return {f.name: f for f in text_string_to_metric_families(body.decode())}


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, _ = metrics.render()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(body.decode())
        for s in f.samples
    }


def test_every_listed_metric_is_exposed_with_its_type_and_conventional_name() -> None:
    found = families(Metrics())
    for name, kind in EXPECTED.items():
        assert name in found, name
        assert found[name].type == kind  # type: ignore[attr-defined]
    ours = [n for n in found if n.startswith("voicefleet_")]
    assert sorted(ours) == sorted(EXPECTED)  # on a CPU: no GPU gauges at all (absent, not 0)
    for name in ours:
        unit_ok = name.endswith(("_seconds", "_bytes", "_depth", "_size", "_ratio", "_files", "_requests", "_ready"))
        assert unit_ok or EXPECTED[name] == "counter", name
    assert "process_resident_memory_bytes" in found  # the standard process collector rides along


def test_no_created_series_and_no_duplicate_of_the_standard_memory_metric() -> None:
    body, _ = Metrics().render()
    text = body.decode()
    assert "_created" not in text
    assert "voicefleet_process_rss_bytes" not in text
    assert "process_resident_memory_bytes" in text


def test_gpu_gauges_appear_with_the_first_gpu_sample_only() -> None:
    metrics = Metrics(process_collector=False)
    metrics.memory(MemorySample(rss_bytes=123))  # a CPU engine's report
    assert not [k for k in samples(metrics) if k[0].startswith("voicefleet_gpu")]
    metrics.memory(MemorySample(rss_bytes=1, gpu_allocated_bytes=4, gpu_reserved_bytes=5, gpu_total_bytes=24 << 30))
    got = samples(metrics)
    assert got[("voicefleet_gpu_memory_allocated_bytes", ())] == 4
    assert got[("voicefleet_gpu_memory_reserved_bytes", ())] == 5


def test_metrics_move_with_admission_memory_spool_and_requests() -> None:
    metrics = Metrics(process_collector=False)

    async def run() -> None:
        engine = BatchEngine()
        engine.load()
        engine.gate.clear()
        settings = AdmissionSettings(max_queue=1, max_batch=1, max_concurrency=1)
        c = AdmissionController(engine, settings, observer=metrics)
        await c.start()
        c.set_ready()
        first = asyncio.create_task(c.submit(SynthesisRequest("a")))
        while engine.active == 0:
            await asyncio.sleep(0.01)
        second = asyncio.create_task(c.submit(SynthesisRequest("b")))
        while c.queue_depth == 0:
            await asyncio.sleep(0.01)
        assert samples(metrics)[("voicefleet_queue_depth", ())] == 1
        assert samples(metrics)[("voicefleet_in_flight_requests", ())] == 1
        with pytest.raises(QueueFullError):
            await c.submit(SynthesisRequest("c"))
        engine.gate.set()
        await asyncio.gather(first, second)
        await c.close()

    asyncio.run(run())
    # Each batch of one reports its audio (10 ms of tone per character) and its real-time factor.
    assert samples(metrics)[("voicefleet_audio_generated_seconds_total", ())] == pytest.approx(0.02)
    assert samples(metrics)[("voicefleet_real_time_factor_ratio_count", ())] == 2
    rtf_before = samples(metrics)[("voicefleet_real_time_factor_ratio_sum", ())]
    metrics.memory(MemorySample(rss_bytes=123, gpu_allocated_bytes=4, gpu_reserved_bytes=5, gpu_total_bytes=16 << 30))
    metrics.spool(3, 3000)
    metrics.synthesized(audio_seconds=2.0, synthesis_seconds=0.5)
    metrics.request("/v1/speak", "POST", 200, 0.7)
    metrics.recycle("requests")
    got = samples(metrics)
    assert got[("voicefleet_batch_size_count", ())] == 2
    assert got[("voicefleet_queue_wait_seconds_count", ())] == 2
    assert got[("voicefleet_admission_rejected_total", (("reason", "queue_full"),))] == 1
    assert got[("voicefleet_queue_depth", ())] == 0
    assert got[("voicefleet_gpu_memory_reserved_bytes", ())] == 5
    assert got[("voicefleet_spool_files", ())] == 3
    assert got[("voicefleet_audio_generated_seconds_total", ())] == pytest.approx(2.02)
    assert got[("voicefleet_real_time_factor_ratio_sum", ())] == pytest.approx(rtf_before + 0.25)
    assert got[("voicefleet_http_requests_total", (("method", "POST"), ("route", "/v1/speak"), ("status", "200")))] == 1
    assert got[("voicefleet_recycles_total", (("trigger", "requests"),))] == 1
    assert got[("voicefleet_recycles_total", (("trigger", "admin"),))] == 0
