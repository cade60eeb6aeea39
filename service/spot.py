"""Watch IMDSv2 for a Spot interruption notice, so the instance drains before EC2 reclaims it (2 minutes' warning).

EC2 publishes `spot/instance-action` ({"action": "terminate|stop|hibernate", "time": "..."}) when it will reclaim
the instance; until then the path answers 404. IMDSv2 needs a session token from a PUT first
(https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instance-termination-notices.html). The endpoint is
configurable so tests run a fake metadata server on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "http://169.254.169.254"
TOKEN_PATH = "/latest/api/token"
ACTION_PATH = "/latest/meta-data/spot/instance-action"
TOKEN_TTL_S = 21600  # the IMDSv2 maximum (6 h)


@dataclass(frozen=True)
class SpotNotice:
    action: str
    time: str
    raw: str


OnNotice = Callable[[SpotNotice], Awaitable[None] | None]


class SpotWatcher:
    """Polls spot/instance-action every `interval_s`; calls `on_notice` once when a notice appears."""

    def __init__(
        self,
        on_notice: OnNotice,
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        interval_s: float = 5.0,
        timeout_s: float = 2.0,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0 (got {interval_s})")
        self.endpoint = endpoint.rstrip("/")
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.notice: SpotNotice | None = None
        self.polls = 0
        self._on_notice = on_notice
        self._token: str | None = None
        self._token_expires = 0.0
        self._task: asyncio.Task[None] | None = None
        self._unreachable_logged = False

    def start(self) -> None:
        """Start polling in the running event loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="spot-watcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            while self.notice is None:
                try:
                    notice = await self.check(client)
                except httpx.HTTPError as exc:
                    if not self._unreachable_logged:  # off EC2 (a laptop, CI): say so once, keep polling
                        log.info("instance metadata unreachable at %s: %s", self.endpoint, exc)
                        self._unreachable_logged = True
                    notice = None
                if notice is not None:
                    self.notice = notice
                    log.warning(
                        "spot interruption notice: %s at %s",
                        notice.action,
                        notice.time,
                        extra={"event": "spot_notice", "action": notice.action, "at": notice.time},
                    )
                    outcome = self._on_notice(notice)
                    if inspect.isawaitable(outcome):
                        await outcome
                    return
                await asyncio.sleep(self.interval_s)

    async def _get_token(self, client: httpx.AsyncClient) -> str:
        if self._token is None or time.monotonic() >= self._token_expires:
            response = await client.put(
                self.endpoint + TOKEN_PATH, headers={"X-aws-ec2-metadata-token-ttl-seconds": str(TOKEN_TTL_S)}
            )
            response.raise_for_status()
            self._token = response.text
            self._token_expires = time.monotonic() + TOKEN_TTL_S - 60
        return self._token

    async def check(self, client: httpx.AsyncClient) -> SpotNotice | None:
        """One poll: the notice if there is one, None on 404 (no interruption scheduled)."""
        self.polls += 1
        for _attempt in range(2):
            token = await self._get_token(client)
            response = await client.get(self.endpoint + ACTION_PATH, headers={"X-aws-ec2-metadata-token": token})
            if response.status_code == 401:  # token expired or IMDS restarted: get a new one once
                self._token = None
                continue
            if response.status_code == 404:
                return None
            response.raise_for_status()
            return parse_notice(response.text)
        return None


def parse_notice(body: str) -> SpotNotice:
    """The instance-action document; an unreadable one still counts as a notice (draining early is safe)."""
    try:
        data = json.loads(body)
        return SpotNotice(action=str(data.get("action", "unknown")), time=str(data.get("time", "")), raw=body)
    except (ValueError, AttributeError):
        return SpotNotice(action="unknown", time="", raw=body)
