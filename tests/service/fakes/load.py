"""A small closed-loop load generator: N clients each sending requests back to back, counting every outcome.

"lost" is an admitted request that got neither its audio nor an explicit refusal (a reset connection, a 500);
it must always be 0.
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
    responses: list[httpx.Response] = field(default_factory=list)

    @property
    def summary(self) -> str:
        rejected = ", ".join(f"{code}: {n}" for code, n in sorted(self.rejected.items())) or "none"
        refused = self.refused_connection
        return f"served {self.ok}, rejected {{{rejected}}}, refused connections {refused}, lost {self.lost}"


async def one(client: httpx.AsyncClient, result: LoadResult, body: dict[str, Any], headers: dict[str, str]) -> int:
    try:
        response = await client.post("/v1/speak", json=body, headers=headers)
    except httpx.ConnectError:
        result.refused_connection += 1  # never reached the server: not admitted, nothing to lose
        return -1
    except httpx.HTTPError:
        result.lost += 1
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
) -> LoadResult:
    """Each client sends until it is told to go away (503 / connection refused) or max_requests were sent."""
    result = LoadResult()
    sent = 0

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal sent
        while sent < max_requests:
            sent += 1
            status = await one(client, result, body(sent), headers or {})
            if status in stop_on:
                return

    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
    return result
