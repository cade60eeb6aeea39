"""Closed-loop clients for the drills: every attempt lands in exactly one bucket, and audio is decoded back.

- admitted: 200 with real audio (WAV decoded) or, for store=true, JSON naming the stored key;
- rejected: 429/503 with Retry-After (the service said "later"; an ALB or a client retries elsewhere);
- refused: the connection was refused (the process had exited: nothing reached it);
- unread: the connection closed without a response; lost only if the server logged the request id (it took it);
- lost: anything else (a 5xx other than 503, a refusal without Retry-After, a broken 200, a timeout).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from benchmarks.common import wav_seconds

_ids = itertools.count()


@dataclass
class Attempts:
    sent: int = 0
    admitted: int = 0
    rejected: Counter[int] = field(default_factory=Counter)
    refused: int = 0
    unread: list[str] = field(default_factory=list)
    lost: int = 0
    errors: list[str] = field(default_factory=list)
    stored: list[dict[str, Any]] = field(default_factory=list)  # store=true answers

    def lost_total(self, seen_by_server: set[str]) -> int:
        """Lost attempts, counting an unread one as lost when the server had logged its id."""
        return self.lost + sum(1 for rid in self.unread if rid in seen_by_server)

    def counts(self, seen_by_server: set[str]) -> dict[str, Any]:
        lost_unread = sum(1 for rid in self.unread if rid in seen_by_server)
        return {
            "sent": self.sent,
            "admitted": self.admitted,
            "rejected_429": self.rejected[429],
            "rejected_503": self.rejected[503],
            "refused_connection": self.refused,
            "unread_not_taken": len(self.unread) - lost_unread,
            "lost": self.lost + lost_unread,
            "first_errors": self.errors[:5],
        }


Outcome = Literal["admitted", "rejected", "refused", "unread", "lost"]


async def attempt(
    client: httpx.AsyncClient, result: Attempts, path: str, body: dict[str, Any], *, form: bool
) -> tuple[Outcome, float]:
    """One request; (its bucket, Retry-After seconds when rejected)."""
    request_id = f"drill-{next(_ids)}"
    headers = {"X-Request-ID": request_id}
    result.sent += 1
    try:
        if form:
            response = await client.post(path, files={k: (None, str(v)) for k, v in body.items()}, headers=headers)
        else:
            response = await client.post(path, json=body, headers=headers)
    except httpx.ConnectError:
        result.refused += 1
        return "refused", 0.0
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        result.unread.append(request_id)
        result.errors.append(f"{request_id}: {type(exc).__name__}: {exc}")
        return "unread", 0.0
    except httpx.HTTPError as exc:
        result.lost += 1
        result.errors.append(f"{request_id}: {type(exc).__name__}: {exc}")
        return "lost", 0.0
    status = response.status_code
    if status in (429, 503) and "retry-after" in response.headers:
        result.rejected[status] += 1
        return "rejected", float(response.headers["retry-after"])
    problem = _problem(response)
    if problem is None:
        result.admitted += 1
        if response.headers.get("content-type", "").startswith("application/json"):
            result.stored.append(response.json())
        return "admitted", 0.0
    result.lost += 1
    result.errors.append(f"{request_id}: {problem}")
    return "lost", 0.0


def _problem(response: httpx.Response) -> str | None:
    """Why a response is not a served request (None when it is)."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        return None if isinstance(body, dict) and body.get("key") else f"stored answer without a key: {body}"
    try:
        return None if wav_seconds(response.content) > 0 else "empty audio"
    except ValueError as exc:
        return str(exc)


async def drive(
    url: str,
    *,
    clients: int,
    body: Callable[[int], dict[str, Any]],
    target_admitted: int,
    on_reject: Literal["stop", "retry"],
    path: str = "/v1/audio/speech",
    form: bool = False,
    on_admitted: Callable[[int], None] | None = None,
    max_attempts: int = 100_000,
    retry_cap_s: float = 0.2,
) -> Attempts:
    """`clients` loops send until `target_admitted` requests were served. A client that is told to go away
    (rejected, refused, unread) stops with on_reject='stop' (Spot: the load balancer sends it elsewhere) or, with
    'retry', waits min(Retry-After, retry_cap_s) and tries again (a restarted process will answer)."""
    result = Attempts()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client_loop(client: httpx.AsyncClient) -> None:
        while result.admitted < target_admitted and result.sent < max_attempts:
            outcome, retry_after = await attempt(client, result, path, body(result.sent), form=form)
            if outcome == "admitted":
                if on_admitted is not None:
                    on_admitted(result.admitted)
            elif outcome != "lost":
                if on_reject == "stop":
                    return
                await asyncio.sleep(min(retry_after, retry_cap_s) or 0.1)

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
    return result


def seen_request_ids(events: list[dict[str, Any]]) -> set[str]:
    """Request ids the server logged as requests (it read them)."""
    return {str(e["request_id"]) for e in events if e.get("event") == "request" and e.get("request_id")}


def served_by_server(events: list[dict[str, Any]], path: str) -> int:
    return sum(1 for e in events if e.get("event") == "request" and e.get("route") == path and e.get("status") == 200)
