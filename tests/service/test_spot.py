"""The IMDSv2 Spot watcher against a real fake-metadata HTTP server on loopback."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import httpx
import pytest

from benchmarks.drills.imds import FakeImds
from service.spot import SpotNotice, SpotWatcher, parse_notice


@pytest.fixture
def imds() -> Iterator[FakeImds]:
    server = FakeImds()
    yield server
    server.close()


async def wait_for(condition: object, limit: int = 500) -> None:
    for _ in range(limit):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def test_no_notice_means_polling_with_one_token_and_no_callback(imds: FakeImds) -> None:
    notices: list[SpotNotice] = []

    async def main() -> None:
        watcher = SpotWatcher(notices.append, endpoint=imds.url, interval_s=0.02)
        watcher.start()
        await wait_for(lambda: imds.action_gets >= 5)
        await watcher.stop()

    asyncio.run(main())
    assert notices == []
    assert imds.token_puts == 1  # the session token is reused between polls


def test_a_notice_calls_back_once_within_one_poll(imds: FakeImds) -> None:
    notices: list[SpotNotice] = []

    async def main() -> None:
        drained = asyncio.Event()

        async def on_notice(notice: SpotNotice) -> None:
            notices.append(notice)
            drained.set()

        watcher = SpotWatcher(on_notice, endpoint=imds.url, interval_s=0.05)
        watcher.start()
        await wait_for(lambda: imds.action_gets >= 2)
        polls_before = watcher.polls
        imds.announce("terminate", "2026-03-14T10:02:00Z")
        await asyncio.wait_for(drained.wait(), timeout=5)
        assert watcher.polls - polls_before <= 2  # the in-progress poll, then at most one more
        await asyncio.sleep(0.2)
        await watcher.stop()

    asyncio.run(main())
    assert [(n.action, n.time) for n in notices] == [("terminate", "2026-03-14T10:02:00Z")]


def test_an_expired_token_is_renewed(imds: FakeImds) -> None:
    async def main() -> None:
        watcher = SpotWatcher(lambda n: None, endpoint=imds.url, interval_s=0.02)
        async with httpx.AsyncClient() as client:
            assert await watcher.check(client) is None
            imds.expire_tokens()
            imds.announce("stop")
            notice = await watcher.check(client)
        assert notice is not None
        assert notice.action == "stop"

    asyncio.run(main())
    assert imds.token_puts == 2
    assert imds.unauthorized == 1


def test_off_ec2_the_watcher_keeps_polling_quietly() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    notices: list[SpotNotice] = []

    async def main() -> None:
        watcher = SpotWatcher(notices.append, endpoint=f"http://127.0.0.1:{port}", interval_s=0.01, timeout_s=0.5)
        watcher.start()
        await wait_for(lambda: watcher.polls >= 3)
        await watcher.stop()

    asyncio.run(main())
    assert notices == []


def test_notice_parsing_and_settings() -> None:
    assert parse_notice('{"action": "hibernate", "time": "t"}').action == "hibernate"
    assert parse_notice("garbage").action == "unknown"  # still a notice: draining early is safe
    with pytest.raises(ValueError, match="interval_s"):
        SpotWatcher(lambda n: None, interval_s=0)
