"""A small closed-loop load generator: N clients each sending requests back to back, counting every outcome.

"lost" is an admitted request that got neither its audio nor an explicit refusal (a 500, or its connection dropped
after the server took it); it must always be 0. A connection the server closed before reading the request (a
keep-alive race while the process exits) is "unanswered": the caller checks the server's log for its request id to
tell whether the app ever saw it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class LoadResult:
    ok: int = 0
    rejected: Counter[int] = field(default_factory=Counter)
    refused_connection: int = 0
    lost: int = 0
    unanswered: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    responses: list[httpx.Response] = field(default_factory=list)

    @property
    def summary(self) -> str:
        rejected = ", ".join(f"{code}: {n}" for code, n in sorted(self.rejected.items())) or "none"
        refused = self.refused_connection
        unanswered = len(self.unanswered)
        return (
            f"served {self.ok}, rejected {{{rejected}}}, refused connections {refused}, "
            f"closed before a response {unanswered}, lost {self.lost}"
        )


_ids = iter(range(10**9))


SPEECH = "/v1/audio/speech"


def speech(text: str, **extra: Any) -> dict[str, Any]:
    """An OpenAI-style speech body asking for whole WAV (cheap to encode, easy to decode back; not streamed)."""
    return {"input": text, "response_format": "wav", "stream": False, **extra}


async def one(
    client: httpx.AsyncClient,
    result: LoadResult,
    body: dict[str, Any],
    headers: dict[str, str],
    *,
    path: str = SPEECH,
    form: bool = False,
) -> int:
    """One request (JSON body, or multipart form with `form=True`), its outcome counted in `result`."""
    request_id = f"load-{next(_ids)}"
    sent = {**headers, "X-Request-ID": request_id}
    try:
        if form:
            fields = {k: (None, str(v)) for k, v in body.items()}
            response = await client.post(path, files=fields, headers=sent)
        else:
            response = await client.post(path, json=body, headers=sent)
    except httpx.ConnectError:
        result.refused_connection += 1  # never reached the server: not admitted, nothing to lose
        return -1
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        result.unanswered.append(request_id)
        result.errors.append(f"{request_id}: {type(exc).__name__}: {exc}")
        return -1
    except httpx.HTTPError as exc:
        result.lost += 1
        result.errors.append(f"{request_id}: {type(exc).__name__}: {exc}")
        return -2
    result.responses.append(response)
    if response.status_code == 200:
        result.ok += 1
    elif response.status_code in (429, 503) and "retry-after" in response.headers:
        result.rejected[response.status_code] += 1
    else:
        result.lost += 1
    return response.status_code


async def closed_loop(
    base_url: str,
    *,
    clients: int,
    body: Callable[[int], dict[str, Any]],
    headers: dict[str, str] | None = None,
    max_requests: int = 1000,
    stop_on: tuple[int, ...] = (503, -1),
    path: str = SPEECH,
) -> LoadResult:
    """Each client sends until it is told to go away (503 / connection refused) or max_requests were sent."""
    result = LoadResult()
    sent = 0

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal sent
        while sent < max_requests:
            sent += 1
            status = await one(client, result, body(sent), headers or {}, path=path)
            if status in stop_on:
                return

    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
    return result
