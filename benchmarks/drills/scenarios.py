"""The four fault drills, each on a real `tts-serve` process (espeak) on 127.0.0.1 under concurrent load.

- spot: a fake IMDSv2 announces an interruption mid-load; the process drains and exits 0.
- s3: the outputs bucket (moto behind a TCP proxy) goes away mid-load and comes back; every stored file lands.
- oom: every Nth engine call fails with "CUDA out of memory" (fault injection); refusals are 503 + Retry-After.
- recycle: the process recycles itself after N requests, again and again; a supervisor restarts it on the same
  port, as systemd's Restart=always does, and the clients retry.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import wav_seconds
from benchmarks.drills.imds import FakeImds
from benchmarks.drills.outage_proxy import OutageProxy
from benchmarks.drills.serve_process import TtsServe, free_port, seen_request_ids, served_by_server
from benchmarks.http_driver import SPEECH, OnReject, Tally, closed_loop

# A drill ends when enough requests were served; this caps the requests sent if something goes wrong.
MAX_ATTEMPTS = 100_000
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass(frozen=True)
class DrillSize:
    clients: int = 8
    requests: int = 200  # requests to serve (admitted) in a drill


@dataclass
class DrillReport:
    name: str
    counts: dict[str, Any]
    checks: dict[str, bool]  # named facts that must hold besides lost == 0
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.counts["lost"] == 0 and all(self.checks.values())


def speech_body(i: int) -> dict[str, Any]:
    return {"input": f"Drill request number {i}, please.", "response_format": "wav"}


def drive(
    url: str,
    *,
    clients: int,
    body: Callable[[int], dict[str, Any]],
    target_admitted: int,
    on_reject: OnReject,
    path: str = SPEECH,
    form: bool = False,
    on_admitted: Callable[[int], None] | None = None,
) -> Tally:
    """The drills' load: `clients` loops until `target_admitted` requests were served (benchmarks.http_driver)."""
    return asyncio.run(
        closed_loop(
            url,
            clients=clients,
            body=body,
            max_requests=MAX_ATTEMPTS,
            until_served=target_admitted,
            on_reject=on_reject,
            path=path,
            form=form,
            id_prefix="drill",
            on_served=on_admitted,
        )
    )


def _shutdown(serve: TtsServe) -> tuple[int, list[dict[str, Any]]]:
    serve.proc.send_signal(signal.SIGTERM)
    return serve.wait_exit()


def run_spot(size: DrillSize, tmp: Path) -> DrillReport:
    imds = FakeImds()
    env = {
        "TTS_SPOT_WATCH": "true",
        "TTS_IMDS_ENDPOINT": imds.url,
        "TTS_SPOT_POLL_S": "0.2",
        "TTS_FAULT_DELAY_MS": "50",  # GPU-slow espeak, so requests are queued when the notice comes
    }
    serve = TtsServe(env, tmp)
    trigger_at = max(1, size.requests // 2)
    try:
        serve.wait_ready()

        def notice(admitted: int) -> None:
            if admitted == trigger_at:
                imds.announce("terminate", "2026-03-14T10:02:00Z")

        result = drive(
            serve.url,
            clients=size.clients,
            body=speech_body,
            target_admitted=size.requests * 10,  # the notice ends the load, not the target
            on_reject="stop",
            on_admitted=notice,
        )
        code, events = serve.wait_exit()
    finally:
        serve.kill()
        imds.close()
    return _report("spot", result, events, [code], SPEECH, {"notice after admitted": trigger_at})


def run_oom(size: DrillSize, tmp: Path) -> DrillReport:
    every = 7
    serve = TtsServe({"TTS_FAULT_OOM_EVERY": str(every)}, tmp)
    try:
        serve.wait_ready()
        result = drive(
            serve.url, clients=size.clients, body=speech_body, target_admitted=size.requests, on_reject="retry"
        )
        metrics = httpx.get(f"{serve.url}/metrics", timeout=10).text
        still_ready = httpx.get(f"{serve.url}/readyz", timeout=10).status_code == 200
        code, events = _shutdown(serve)
    finally:
        serve.kill()
    ooms = _metric(metrics, "voicefleet_engine_oom_total")
    report = _report("oom", result, events, [code], SPEECH, {"TTS_FAULT_OOM_EVERY": every, "engine_oom_total": ooms})
    report.checks["ready after the OOMs"] = still_ready
    report.checks["every OOM answered 503 + Retry-After"] = ooms == result.rejected[503] > 0
    return report


def run_recycle(size: DrillSize, tmp: Path) -> DrillReport:
    after = max(2, size.requests // 4)
    env = {"TTS_RECYCLE_AFTER_REQUESTS": str(after), "TTS_FAULT_DELAY_MS": "20"}
    port = free_port()
    codes: list[int] = []
    events: list[dict[str, Any]] = []
    stop = threading.Event()
    first = TtsServe(env, tmp, port=port)
    first.wait_ready()

    def supervise() -> None:
        """systemd's Restart=always for one port; only this thread signals, and only a process that is ready."""
        serve = first
        while True:
            while serve.proc.poll() is None and not stop.is_set():
                time.sleep(0.05)
            if serve.proc.poll() is None and _ready(serve):
                serve.proc.send_signal(signal.SIGTERM)  # the load is over: drain and stop the last one
            # (one that is already recycling stops by itself; a signal could land after its drain, at exit)
            code, logged = serve.wait_exit(timeout_s=600)
            codes.append(code)
            events.extend(logged)
            if stop.is_set() or code != 0:
                return
            serve = TtsServe(env, tmp, port=port)
            try:
                serve.wait_ready()
            except RuntimeError:  # a failed start: its exit code is recorded on the next pass
                continue

    supervisor = threading.Thread(target=supervise, name="drill-supervisor", daemon=True)
    supervisor.start()
    try:
        result = drive(
            f"http://127.0.0.1:{port}",
            clients=size.clients,
            body=speech_body,
            target_admitted=size.requests,
            on_reject="retry",
        )
    finally:
        stop.set()
        supervisor.join(timeout=120)
    report = _report("recycle", result, events, codes, SPEECH, {"TTS_RECYCLE_AFTER_REQUESTS": after})
    report.facts["processes"] = len(codes)
    report.checks["recycled at least once"] = sum(1 for e in events if e.get("event") == "recycle") >= 1
    return report


def _ready(serve: TtsServe) -> bool:
    try:
        return httpx.get(f"{serve.url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _report(
    name: str, result: Tally, events: list[dict[str, Any]], codes: list[int], path: str, facts: dict[str, Any]
) -> DrillReport:
    seen = seen_request_ids(events)
    drained = [e for e in events if e.get("event") == "drained"]
    checks = {
        "exit code 0": bool(codes) and all(code == 0 for code in codes),
        "drained with 0 unfinished": len(drained) == len(codes) and all(e["unfinished"] == 0 for e in drained),
        "server-logged 200s == client admitted": served_by_server(events, path) == result.served,
    }
    return DrillReport(name, result.counts(seen), checks, {**facts, "exit_codes": codes})


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def run_s3(size: DrillSize, tmp: Path) -> DrillReport:
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto logs every request otherwise
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, moto_port = moto.get_host_and_port()
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=f"http://{host}:{moto_port}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    bucket = "voicefleet-drill-outputs"
    s3.create_bucket(Bucket=bucket)
    proxy = OutageProxy(f"http://{host}:{moto_port}")
    env = {
        **FAKE_AWS,
        "TTS_OUTPUTS_BUCKET": bucket,
        "TTS_S3_ENDPOINT_URL": proxy.url,
        "TTS_S3_REGION": "us-east-1",
        "TTS_SPOOL_DIR": str(tmp / "spool"),
        "TTS_SPOOL_RETRY_BASE_S": "0.05",
        "TTS_SPOOL_RETRY_MAX_S": "0.5",
        "TTS_FLUSH_TIMEOUT_S": "30",
    }
    cut_at, restore_at = max(1, size.requests // 3), max(2, 2 * size.requests // 3)
    serve = TtsServe(env, tmp)
    try:
        serve.wait_ready()

        def outage(admitted: int) -> None:
            if admitted == cut_at:
                proxy.cut()
            elif admitted == restore_at:
                proxy.restore()

        result = drive(
            serve.url,
            clients=size.clients,
            body=lambda i: {"text": f"存储演练第{i}句。", "store": "true", "format": "wav"},
            target_admitted=size.requests,
            on_reject="retry",
            path="/v1/tts",
            form=True,
            on_admitted=outage,
        )
        proxy.restore()
        code, events = _shutdown(serve)  # the drain flushes whatever the background retry has not uploaded yet
    finally:
        serve.kill()
        proxy.close()
    try:
        missing = _missing_objects(s3, bucket, result)
    finally:
        moto.stop()
    pending = sum(1 for body in result.stored if body.get("pending"))
    report = _report("s3", result, events, [code], "/v1/tts", {"outage from/to admitted": [cut_at, restore_at]})
    report.counts["lost"] += len(missing)
    report.facts |= {"spooled during the outage": pending, "missing or unreadable in the bucket": missing[:5]}
    report.checks["some audio was spooled during the outage"] = pending > 0
    return report


def _missing_objects(s3: Any, bucket: str, result: Tally) -> list[str]:
    """Keys handed to clients that are not in the bucket as decodable audio."""
    missing = []
    for body in result.stored:
        try:
            data = s3.get_object(Bucket=bucket, Key=body["key"])["Body"].read()
            wav_seconds(data)
        except Exception:  # any failure to read it back means the client holds a dead URL
            missing.append(str(body["key"]))
    return missing


DRILLS = {"spot": run_spot, "s3": run_s3, "oom": run_oom, "recycle": run_recycle}
