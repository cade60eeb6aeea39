"""The one closed-loop HTTP driver: the load, soak and overhead benchmarks, the fault drills and the service's
end-to-end tests all send and count requests with it. Every request ends in exactly one bucket, so nothing can go
missing silently:

- served: 200 with real audio (a WAV is decoded back), or, for store=true, JSON naming the stored key;
- rejected: 429/503 with Retry-After (explicit back-pressure: the client, or the ALB, retries later or elsewhere);
- refused: the connection was refused (no process listened: nothing reached the server);
- unread: the connection closed without a response; lost only if the server logged the request id (it took it);
- error: a 4xx other than 429 (the request itself was refused as wrong);
- lost: anything else: a 5xx other than a 503 with Retry-After, a 200 that is not the audio asked for, a timeout.

Each request carries an X-Request-ID (`<prefix>-<n>`), so a client's count can be checked against the server's log.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from benchmarks.common import SENTENCES, percentiles_ms, wav_seconds

SPEECH = "/v1/audio/speech"
Bucket = Literal["served", "rejected", "refused", "unread", "error", "lost"]
OnReject = Literal["continue", "stop", "retry"]
_ids = itertools.count()


@dataclass(frozen=True)
class HttpTarget:
    """The service the HTTP benchmarks drive and the request fields they send it."""

    url: str
    model: str
    voice: str
    timeout_s: float
    api_key: str | None = None


@dataclass(frozen=True)
class Outcome:
    """One request: its bucket, HTTP status (None: no response), latency and, when served as audio, its length."""

    bucket: Bucket
    status: int | None
    latency_s: float
    request_id: str
    audio_s: float = 0.0
    retry_after_s: float = 0.0
    error: str | None = None
    stored: dict[str, Any] | None = None  # the JSON answer of a served store=true request
    # Kept only when asked (a test's hand-sent burst): a long run would hold every audio body in memory.
    response: httpx.Response | None = field(default=None, repr=False, compare=False)


def classify(response: httpx.Response) -> tuple[Bucket, float, str | None]:
    """(bucket, audio seconds, what was wrong) for an HTTP response."""
    status = response.status_code
    if status in (429, 503) and "retry-after" in response.headers:
        return "rejected", 0.0, None
    if status != 200:
        bucket: Bucket = "error" if 400 <= status < 500 and status != 429 else "lost"
        return bucket, 0.0, f"HTTP {status}: {response.text[:200]}"
    kind = response.headers.get("content-type", "")
    if kind.startswith("application/json"):
        try:
            body = response.json()
        except ValueError as exc:
            return "lost", 0.0, f"stored answer is not JSON: {exc}"
        ok = isinstance(body, dict) and body.get("key")
        return ("served", 0.0, None) if ok else ("lost", 0.0, f"stored answer without a key: {body}")
    if kind.startswith("audio/wav"):
        try:
            seconds = wav_seconds(response.content)
        except ValueError as exc:
            return "lost", 0.0, str(exc)
        return ("served", seconds, None) if seconds > 0 else ("lost", 0.0, "response audio is empty")
    return ("served", 0.0, None) if response.content else ("lost", 0.0, "response body is empty")


@dataclass
class Tally:
    """What happened to every request of a run (or of a test's hand-sent burst)."""

    sent: int = 0
    wall_s: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, bucket: Bucket) -> int:
        return sum(1 for o in self.outcomes if o.bucket == bucket)

    @property
    def served(self) -> int:
        return self.count("served")

    @property
    def rejected(self) -> Counter[int]:
        return Counter(o.status for o in self.outcomes if o.bucket == "rejected" and o.status is not None)

    @property
    def refused(self) -> int:
        return self.count("refused")

    @property
    def unread(self) -> list[str]:
        """Request ids whose connection closed without a response."""
        return [o.request_id for o in self.outcomes if o.bucket == "unread"]

    @property
    def lost(self) -> int:
        """Requests neither served nor explicitly turned away (errors and losses; unread ones are not counted)."""
        return self.count("lost") + self.count("error")

    @property
    def errors(self) -> list[str]:
        return [f"{o.request_id}: {o.error}" for o in self.outcomes if o.error]

    @property
    def responses(self) -> list[httpx.Response]:
        return [o.response for o in self.outcomes if o.response is not None]

    @property
    def stored(self) -> list[dict[str, Any]]:
        """The JSON answers of store=true requests that were served."""
        return [o.stored for o in self.outcomes if o.stored is not None]

    def lost_total(self, seen_by_server: set[str]) -> int:
        """Lost requests, counting an unread one as lost when the server had logged its id."""
        return self.lost + sum(1 for rid in self.unread if rid in seen_by_server)

    def counts(self, seen_by_server: set[str]) -> dict[str, Any]:
        """The drills' counts: `lost` must be 0."""
        lost_unread = sum(1 for rid in self.unread if rid in seen_by_server)
        return {
            "sent": self.sent,
            "admitted": self.served,
            "rejected_429": self.rejected[429],
            "rejected_503": self.rejected[503],
            "refused_connection": self.refused,
            "unread_not_taken": len(self.unread) - lost_unread,
            "lost": self.lost + lost_unread,
            "first_errors": self.errors[:5],
        }

    def figures(self) -> dict[str, Any]:
        """The benchmarks' figures: throughput and latency of the served requests; everything unanswered is lost."""
        served = [o for o in self.outcomes if o.bucket == "served"]
        audio = sum(o.audio_s for o in served)
        wall = self.wall_s or float("nan")
        unanswered = self.count("lost") + self.count("unread") + self.refused + (self.sent - len(self.outcomes))
        return {
            "sent": self.sent,
            "ok": len(served),
            "rejected_429": self.rejected[429],
            "rejected_503": self.rejected[503],
            "errors": self.count("error"),
            "lost": unanswered,
            "wall_s": round(self.wall_s, 3),
            "requests_per_s": round(len(served) / wall, 3),
            "audio_s_per_s": round(audio / wall, 3),
            "audio_s_total": round(audio, 3),
            **percentiles_ms([o.latency_s for o in served]),
            "first_errors": sorted({o.error or "" for o in self.outcomes if o.error})[:5],
        }

    def describe(self) -> str:
        """One line for test output."""
        rejected = ", ".join(f"{code}: {n}" for code, n in sorted(self.rejected.items())) or "none"
        return (
            f"served {self.served}, rejected {{{rejected}}}, refused connections {self.refused}, "
            f"closed before a response {len(self.unread)}, lost {self.lost}"
        )


async def send(
    client: httpx.AsyncClient,
    tally: Tally,
    body: dict[str, Any],
    *,
    path: str = SPEECH,
    form: bool = False,
    headers: dict[str, str] | None = None,
    id_prefix: str = "load",
    keep_response: bool = True,
) -> Outcome:
    """One request (JSON body, or a multipart form with `form=True`) on `client`, counted in `tally`."""
    request_id = f"{id_prefix}-{next(_ids)}"
    sent_headers = {**(headers or {}), "X-Request-ID": request_id}
    start = time.perf_counter()
    try:
        if form:
            fields = {k: (None, str(v)) for k, v in body.items()}
            response = await client.post(path, files=fields, headers=sent_headers)
        else:
            response = await client.post(path, json=body, headers=sent_headers)
    except httpx.ConnectError:
        outcome = Outcome("refused", None, time.perf_counter() - start, request_id)
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        outcome = Outcome("unread", None, time.perf_counter() - start, request_id, error=_exc(exc))
    except httpx.HTTPError as exc:
        outcome = Outcome("lost", None, time.perf_counter() - start, request_id, error=_exc(exc))
    else:
        latency = time.perf_counter() - start
        bucket, audio_s, problem = classify(response)
        retry = float(response.headers.get("retry-after", 0)) if bucket == "rejected" else 0.0
        stored = response.json() if bucket == "served" and _is_json(response) else None
        kept = response if keep_response else None
        outcome = Outcome(bucket, response.status_code, latency, request_id, audio_s, retry, problem, stored, kept)
    tally.outcomes.append(outcome)
    return outcome


def _exc(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def _is_json(response: httpx.Response) -> bool:
    return str(response.headers.get("content-type", "")).startswith("application/json")


async def closed_loop(
    url: str,
    *,
    clients: int,
    body: Callable[[int], dict[str, Any]],
    max_requests: int,
    until_served: int | None = None,
    on_reject: OnReject = "continue",
    retry_cap_s: float = 0.2,
    path: str = SPEECH,
    form: bool = False,
    headers: dict[str, str] | None = None,
    timeout_s: float = 60.0,
    id_prefix: str = "load",
    on_done: Callable[[int], None] | None = None,
    on_served: Callable[[int], None] | None = None,
) -> Tally:
    """`clients` loops send `body(i)` back to back until `max_requests` were sent (or `until_served` were served).

    A client turned away (rejected, refused, unread) carries on with on_reject='continue' (a load test), stops with
    'stop' (Spot: the load balancer sends it elsewhere) or, with 'retry', waits min(Retry-After, retry_cap_s) and
    tries again (a restarted process will answer). `on_done(finished)` and `on_served(served)` run after each request.
    """
    tally = Tally()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    def more() -> bool:
        return tally.sent < max_requests and (until_served is None or tally.served < until_served)

    async def client_loop(client: httpx.AsyncClient) -> None:
        while more():
            index = tally.sent
            tally.sent += 1
            outcome = await send(
                client, tally, body(index), path=path, form=form, id_prefix=id_prefix, keep_response=False
            )
            if on_done is not None:
                on_done(len(tally.outcomes))
            if outcome.bucket == "served" and on_served is not None:
                on_served(tally.served)
            if outcome.bucket in ("rejected", "refused", "unread"):
                if on_reject == "stop":
                    return
                if on_reject == "retry":
                    await asyncio.sleep(min(outcome.retry_after_s, retry_cap_s) or 0.1)

    async with httpx.AsyncClient(base_url=url, timeout=timeout_s, limits=limits, headers=headers) as client:
        start = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        tally.wall_s = time.perf_counter() - start
    return tally


def auth_headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def speech_payload(text: str, model: str, voice: str) -> dict[str, str | bool]:
    """A whole-WAV request (the endpoint streams unless told otherwise): latency here is to the last byte."""
    return {"model": model, "input": text, "voice": voice, "response_format": "wav", "stream": False}


def speech(text: str, **extra: Any) -> dict[str, Any]:
    """An OpenAI-style speech body asking for whole WAV (cheap to encode, easy to decode back; not streamed)."""
    return {"input": text, "response_format": "wav", "stream": False, **extra}


def drive_sentences(
    target: HttpTarget,
    *,
    concurrency: int,
    total: int,
    on_done: Callable[[int], None] | None = None,
    texts: Sequence[str] = SENTENCES,
) -> Tally:
    """A closed loop over the benchmark sentences against `target`, from synchronous code."""

    def body(i: int) -> dict[str, Any]:
        return speech_payload(texts[i % len(texts)], target.model, target.voice)

    return asyncio.run(
        closed_loop(
            target.url.rstrip("/"),
            clients=concurrency,
            body=body,
            max_requests=total,
            headers=auth_headers(target.api_key),
            timeout_s=target.timeout_s,
            on_done=on_done,
        )
    )
