"""`tts-bench overhead`: the same sentences answered in-process and by the service over HTTP; what HTTP adds per
request (p50, p99), the CPU the service adds per request, and the throughput ratio (HTTP / in-process).

The in-process side does the work the service does for the same request, and nothing else: the text prepared as the
service prepares it (`prepare_text`), the same voice, the engine call, then the service's own post-processing
(`service.audio.deliver`: loudness to the service's default target, encoding to WAV). So "added by HTTP" is the cost
of serving over HTTP — parsing, validation, admission, the hand-off to the engine's thread and back, the transfer —
and the post-processing, which a program embedding the engine for the same answer pays too, is reported as its own
figure, as is the added time over the engine call alone.

The added CPU time (server process CPU per HTTP request minus the in-process CPU per request, both over the paired
requests) is what serving itself spends per request. Only for a local server (its pid is found from the port). Both
it and the wall-clock figures move from run to run on a shared machine; `--against REF` serves another version beside
this one, requests interleaved, so the ratio between them is measured under the same conditions.

Each request is sent twice over HTTP: with httpx (the OpenAI SDK's transport, what the "added by HTTP" figures have
always used) and with the standard library's http.client on a kept connection (a lean client: the difference between
the two is the httpx client's own cost, not the service's). `--floor` serves benchmarks.floor beside the service — a
bare ASGI app doing the same work on the same uvicorn — so the figures show what HTTP itself costs on this machine and
what the service's framework and guards add above that."""

from __future__ import annotations

import dataclasses
import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import (
    SENTENCES,
    BenchFailedError,
    machine_facts,
    percentiles_ms,
    print_header,
    result_header,
    wav_seconds,
    write_json,
)
from benchmarks.engines import build_engine
from benchmarks.http_driver import HttpTarget, auth_headers, drive_sentences, speech_payload
from benchmarks.probes import cpu_seconds
from benchmarks.soak import resolve_pid
from service.audio.deliver import deliver
from service.audio.encode import Encoded
from service.engines.base import Engine, SynthesisRequest, SynthesisResult
from service.lifecycle import builtin_voice_names
from service.settings import Settings
from service.text import prepare_text

# What the floor's figures are labelled with.
FLOOR_LABEL = "floor"
# The service's default loudness target (TTS_LOUDNESS_LUFS); a server started with another gets compared unfairly.
LOUDNESS_LUFS = Settings.model_fields["loudness_lufs"].default


def service_request(engine: Engine, text: str, voice: str | None) -> SynthesisRequest:
    """`text` prepared as the service prepares it, for `voice` (None: the engine's default voice)."""
    prepared = prepare_text(text, limit=len(text), field="input", tag_vocabulary=engine.tag_vocabulary())
    return SynthesisRequest(text=prepared.text, language=prepared.language, voice=voice)


def service_answer(result: SynthesisResult) -> Encoded:
    """The service's own post-processing of a result (service.audio.deliver): its default loudness, WAV."""
    return deliver(result.audio, result.sample_rate, "wav", loudness_lufs=LOUDNESS_LUFS)


@dataclasses.dataclass
class InProcess:
    """The engine plus the service's own preparation and post-processing, timed in parts."""

    engine: Engine
    voice: str | None
    answer_s: list[float] = dataclasses.field(default_factory=list)  # prepare + engine + deliver
    engine_s: list[float] = dataclasses.field(default_factory=list)  # the engine call alone
    deliver_s: list[float] = dataclasses.field(default_factory=list)  # loudness + encoding
    cpu_s: list[float] = dataclasses.field(default_factory=list)  # process CPU of the whole answer

    def request(self, text: str) -> SynthesisRequest:
        return service_request(self.engine, text, self.voice)

    def answer(self, text: str, *, record: bool = True) -> float:
        start, start_cpu = time.perf_counter(), time.process_time()
        request = self.request(text)
        engine_start = time.perf_counter()
        result = self.engine.synthesize_batch([request])[0]
        engine_end = time.perf_counter()
        service_answer(result)
        end = time.perf_counter()
        if record:
            self.answer_s.append(end - start)
            self.engine_s.append(engine_end - engine_start)
            self.deliver_s.append(end - engine_end)
            self.cpu_s.append(time.process_time() - start_cpu)
        return end - start


def _http(client: httpx.Client, target: HttpTarget, text: str) -> float:
    start = time.perf_counter()
    response = client.post(f"{target.url}/v1/audio/speech", json=speech_payload(text, target.model, target.voice))
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise BenchFailedError(f"HTTP {response.status_code} for {text!r}: {response.text[:200]}")
    wav_seconds(response.content)  # it must be real audio, not just a 200
    return elapsed


class LeanClient:
    """The same request by the standard library's http.client on one kept connection: the least a Python client
    spends on it (no request model, no pure-Python HTTP parser; http.client's header parsing is in C)."""

    def __init__(self, target: HttpTarget) -> None:
        self.target = target
        url = httpx.URL(target.url)
        if url.scheme != "http":
            raise BenchFailedError(f"the lean client speaks plain HTTP only, not {url.scheme}: {target.url}")
        self.path = (url.path.rstrip("/") or "") + "/v1/audio/speech"
        self.conn = http.client.HTTPConnection(url.host, url.port or 80, timeout=target.timeout_s)
        self.headers = {"Content-Type": "application/json", **auth_headers(target.api_key)}

    def post(self, text: str) -> float:
        body = json.dumps(speech_payload(text, self.target.model, self.target.voice))
        start = time.perf_counter()
        self.conn.request("POST", self.path, body=body, headers=self.headers)
        response = self.conn.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - start
        if response.status != 200:
            raise BenchFailedError(f"HTTP {response.status} for {text!r} (lean client): {data[:200]!r}")
        wav_seconds(data)
        return elapsed

    def close(self) -> None:
        self.conn.close()


@dataclasses.dataclass
class Side:
    """One server under test, with the in-process runs paired with its requests."""

    label: str
    target: HttpTarget
    inproc: InProcess
    http_s: list[float] = dataclasses.field(default_factory=list)  # httpx
    lean_s: list[float] = dataclasses.field(default_factory=list)  # http.client
    cpu_ms: dict[str, float] | None = None

    def figures(self) -> dict[str, Any]:
        added = [b - a for a, b in zip(self.inproc.answer_s, self.http_s, strict=True)]
        added_lean = [b - a for a, b in zip(self.inproc.answer_s, self.lean_s, strict=True)]
        over_engine = [b - a for a, b in zip(self.inproc.engine_s, self.http_s, strict=True)]
        return {
            "url": self.target.url,
            "pairs": len(added),
            "inprocess": percentiles_ms(self.inproc.answer_s),
            "inprocess_engine": percentiles_ms(self.inproc.engine_s),
            "inprocess_deliver": percentiles_ms(self.inproc.deliver_s),
            "http": percentiles_ms(self.http_s),
            "added": percentiles_ms(added),
            "added_over_engine": percentiles_ms(over_engine),
            "http_lean": percentiles_ms(self.lean_s),
            "added_lean": percentiles_ms(added_lean),
            "cpu_ms_per_request": self.cpu_ms,
        }


def _measure(sides: list[Side], repeats: int) -> None:
    """Paired requests, the sides interleaved text by text (so machine noise falls on every side alike); then the
    server CPU per request of each side over the same requests, HTTP only."""
    clients = [httpx.Client(timeout=side.target.timeout_s, headers=auth_headers(side.target.api_key)) for side in sides]
    leans = [LeanClient(side.target) for side in sides]
    try:
        for text in SENTENCES:  # warm-up every path (first-call allocations, caches, connection setup)
            for side, client, lean in zip(sides, clients, leans, strict=True):
                side.inproc.answer(text, record=False)
                _http(client, side.target, text)
                lean.post(text)
        for _ in range(repeats):
            for text in SENTENCES:
                for side, client, lean in zip(sides, clients, leans, strict=True):
                    side.inproc.answer(text)
                    side.http_s.append(_http(client, side.target, text))
                    side.lean_s.append(lean.post(text))
        # The server's CPU counter (10 ms ticks) is read twice per side, not twice per request: its rounding then
        # costs under 10 ms / len(http_s) per request.
        for side, client in zip(sides, clients, strict=True):
            pid = resolve_pid(side.target.url, None)
            if not pid:
                continue
            before = cpu_seconds(pid)
            for text in [t for _ in range(repeats) for t in SENTENCES]:
                _http(client, side.target, text)
            after = cpu_seconds(pid)
            if before is not None and after is not None:
                inproc_ms = sum(side.inproc.cpu_s) / len(side.inproc.cpu_s) * 1000
                server_ms = (after - before) / len(side.http_s) * 1000
                side.cpu_ms = {
                    "inprocess": round(inproc_ms, 2),
                    "server": round(server_ms, 2),
                    "added": round(server_ms - inproc_ms, 2),
                }
    finally:
        for client in clients:
            client.close()
        for lean in leans:
            lean.close()


def run_overhead(
    target: HttpTarget,
    *,
    engine_name: str,
    preset: str,
    device: str,
    fp16: bool,
    model_dir: Path | None,
    repeats: int,
    concurrency: int,
    out: Path,
    baseline: tuple[str, HttpTarget] | None = None,
    floor: HttpTarget | None = None,
) -> dict[str, Any]:
    """`baseline`: (label, target) of another version of the service, measured in the same run, its requests
    interleaved with `target`'s; the result then holds its figures and the ratios of this one's to them. `floor`:
    benchmarks.floor serving the same engine, measured the same way, interleaved too; the result then holds its
    figures and how far above it this version is."""
    target = dataclasses.replace(target, url=target.url.rstrip("/"))
    facts = machine_facts()
    print_header("overhead", facts)
    engine = build_engine(engine_name, preset=preset, device=device, fp16=fp16, model_dir=model_dir)
    voice = target.voice if target.voice in builtin_voice_names(engine) else None
    sides = [Side("this version", target, InProcess(engine, voice))]
    if baseline is not None:
        sides.append(Side(baseline[0], baseline[1], InProcess(engine, voice)))
    if floor is not None:
        sides.append(Side(FLOOR_LABEL, dataclasses.replace(floor, url=floor.url.rstrip("/")), InProcess(engine, voice)))
    print(
        f"target: {target.url}; in-process engine: {engine_name} (voice {voice or 'default'}), text prepared and "
        f"the answer made as the service does (loudness {LOUDNESS_LUFS} LUFS, WAV); "
        f"{len(SENTENCES)} sentences x {repeats} repeats"
        + (f"; baseline {baseline[0]} at {baseline[1].url}, requests interleaved" if baseline else "")
        + (f"; floor at {floor.url}, requests interleaved" if floor else "")
    )
    _measure(sides, repeats)
    # Throughput at `concurrency` (this version only): the same request count both ways.
    total = concurrency * len(SENTENCES) * repeats
    requests = [SENTENCES[i % len(SENTENCES)] for i in range(total)]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(lambda text: sides[0].inproc.answer(text, record=False), requests))
    inproc_rps = total / (time.perf_counter() - start)
    stats = drive_sentences(target, concurrency=concurrency, total=total)
    summary = stats.figures()
    if summary["ok"] != total:
        raise BenchFailedError(f"only {summary['ok']} of {total} HTTP requests succeeded: {summary['first_errors']}")
    result: dict[str, Any] = {
        **result_header("overhead", facts),
        "engine": engine_name,
        "voice": voice,
        "loudness_lufs": LOUDNESS_LUFS,
        **sides[0].figures(),
        "concurrency": concurrency,
        "inprocess_requests_per_s": round(inproc_rps, 3),
        "http_requests_per_s": summary["requests_per_s"],
        "throughput_ratio_http_over_inprocess": round(summary["requests_per_s"] / inproc_rps, 3),
    }
    if baseline is not None:
        result["baseline"] = {"label": baseline[0], **sides[1].figures()}
        result["ratio_to_baseline"] = _ratios(result, result["baseline"])
    if floor is not None:
        result["floor"] = {"label": FLOOR_LABEL, **sides[-1].figures()}
        result["above_floor_ms"] = {
            key: round(result[key]["p50_ms"] - result["floor"][key]["p50_ms"], 3) for key in ("added", "added_lean")
        }
    engine.close()
    write_json(out, result)
    _report(result, "this version")
    if baseline is not None:
        _report(result["baseline"], baseline[0])
        ratios = result["ratio_to_baseline"]
        print(
            f"this version / {baseline[0]}: added p50 {ratios['added_p50']}, added over the engine alone p50 "
            f"{ratios['added_over_engine_p50']}, CPU added {ratios['cpu_added']}"
        )
    if floor is not None:
        _report(result["floor"], FLOOR_LABEL)
        above = result["above_floor_ms"]
        print(
            f"this version above the floor (its framework and guards): added p50 +{above['added']} ms with httpx, "
            f"+{above['added_lean']} ms with http.client"
        )
    print(
        f"throughput at concurrency {concurrency}: in-process {inproc_rps:.2f} req/s, HTTP "
        f"{summary['requests_per_s']:.2f} req/s, ratio {result['throughput_ratio_http_over_inprocess']}"
    )
    print(f"wrote {out}")
    return result


def _ratios(this: dict[str, Any], base: dict[str, Any]) -> dict[str, float | None]:
    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a is not None and b else None

    cpu_this, cpu_base = this["cpu_ms_per_request"], base["cpu_ms_per_request"]
    return {
        "added_p50": ratio(this["added"]["p50_ms"], base["added"]["p50_ms"]),
        "added_over_engine_p50": ratio(this["added_over_engine"]["p50_ms"], base["added_over_engine"]["p50_ms"]),
        "cpu_added": ratio(cpu_this and cpu_this["added"], cpu_base and cpu_base["added"]),
    }


def _report(figures: dict[str, Any], label: str) -> None:
    def pair(key: str) -> str:
        return f"{figures[key]['p50_ms']}/{figures[key]['p99_ms']}"

    print(
        f"[{label}] latency p50/p99 ms: in-process {pair('inprocess')} (engine {pair('inprocess_engine')}, loudness "
        f"and encoding {pair('inprocess_deliver')}), HTTP {pair('http')}"
    )
    print(
        f"[{label}] added by HTTP per request: p50 {figures['added']['p50_ms']} ms, p99 {figures['added']['p99_ms']} "
        f"ms ({figures['pairs']} paired requests, httpx client); over the engine call alone: p50 "
        f"{figures['added_over_engine']['p50_ms']} ms, p99 {figures['added_over_engine']['p99_ms']} ms"
    )
    print(
        f"[{label}] added by HTTP with a lean client (http.client, kept connection): p50 "
        f"{figures['added_lean']['p50_ms']} ms, p99 {figures['added_lean']['p99_ms']} ms (HTTP p50 "
        f"{figures['http_lean']['p50_ms']} ms); the httpx client's own cost is the difference"
    )
    cpu_ms = figures["cpu_ms_per_request"]
    if cpu_ms is not None:
        print(
            f"[{label}] CPU per request: server {cpu_ms['server']} ms, in-process {cpu_ms['inprocess']} ms, "
            f"added by HTTP {cpu_ms['added']} ms (means over {figures['pairs']} requests)"
        )
    else:
        print(f"[{label}] CPU per request: not measured (remote server)")
