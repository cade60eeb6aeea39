"""`tts-bench drill`: each fault drill once, small, on the real `tts-serve` process; and the counting that decides
whether a request was lost."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from benchmarks.cli import app
from benchmarks.drills import scenarios
from benchmarks.drills.scenarios import DrillReport, DrillSize
from benchmarks.http_driver import Outcome, Tally, send

runner = CliRunner()


@pytest.mark.parametrize("name", ["spot", "s3", "oom", "recycle"])
def test_each_drill_loses_nothing(name: str, out: Path) -> None:
    result = runner.invoke(app, ["drill", name, "--clients", "3", "--requests", "12", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "command:" in result.output
    (drill,) = json.loads(out.read_text())["drills"]
    assert drill["name"] == name
    assert drill["lost"] == 0, drill["first_errors"]
    assert all(drill["checks"].values()), drill["checks"]
    assert all(code == 0 for code in drill["facts"]["exit_codes"])
    if name == "spot":  # the notice ended the load: each client was told 503 once, then went elsewhere
        assert drill["admitted"] >= drill["facts"]["notice after admitted"]
        assert 0 < drill["rejected_503"] <= 3
    else:
        assert drill["admitted"] >= 12
    if name == "s3":
        assert drill["facts"]["spooled during the outage"] > 0
        assert drill["facts"]["missing or unreadable in the bucket"] == []
    if name == "oom":
        assert drill["rejected_503"] == drill["facts"]["engine_oom_total"] > 0
    if name == "recycle":
        assert drill["facts"]["processes"] >= 2


def test_a_drill_that_lost_a_request_exits_1(monkeypatch: pytest.MonkeyPatch, out: Path) -> None:
    def lossy(size: DrillSize, tmp: Path) -> DrillReport:
        counts: dict[str, Any] = {"sent": 5, "admitted": 4, "rejected_429": 0, "rejected_503": 0}
        counts["refused_connection"] = 0
        counts |= {"unread_not_taken": 0, "lost": 1, "first_errors": ["drill-1: HTTP 500"]}
        return DrillReport("lossy", counts, {"exit code 0": True})

    monkeypatch.setitem(scenarios.DRILLS, "oom", lossy)
    result = runner.invoke(app, ["drill", "oom", "--requests", "4", "--out", str(out)])
    assert result.exit_code == 1
    assert json.loads(out.read_text())["drills"][0]["lost"] == 1


def test_unknown_drill_is_a_usage_error() -> None:
    result = runner.invoke(app, ["drill", "flood"])
    assert result.exit_code != 0
    assert "unknown drill 'flood'" in str(result.exception)


def _wav() -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(2205, dtype=np.float32), 22050, format="WAV")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("response", "bucket"),
    [
        (httpx.Response(200, content=_wav(), headers={"content-type": "audio/wav"}), "served"),
        (httpx.Response(200, json={"key": "audio/x.wav", "pending": True}), "served"),
        (httpx.Response(200, content=b"not audio", headers={"content-type": "audio/wav"}), "lost"),
        (httpx.Response(503, json={}, headers={"retry-after": "5"}), "rejected"),
        (httpx.Response(429, json={}, headers={"retry-after": "1"}), "rejected"),
        (httpx.Response(503, json={}), "lost"),  # a refusal must say when to retry
        (httpx.Response(500, json={}), "lost"),
        (httpx.Response(422, json={"error": {}}), "error"),  # the request itself was wrong
        (httpx.Response(200, json={"pending": True}), "lost"),  # a stored answer must name its key
        (httpx.Response(200, content=b"", headers={"content-type": "audio/mpeg"}), "lost"),
        (httpx.ConnectError("refused"), "refused"),
        (httpx.RemoteProtocolError("closed"), "unread"),
        (httpx.ReadTimeout("slow"), "lost"),
    ],
)
def test_every_attempt_lands_in_one_bucket(response: httpx.Response | Exception, bucket: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(response, Exception):
            raise response
        return response

    async def once() -> tuple[Outcome, Tally]:
        result = Tally(sent=1)
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://drill") as client:
            outcome = await send(client, result, {"input": "x"}, id_prefix="drill")
        return outcome, result

    outcome, result = asyncio.run(once())
    assert outcome.bucket == bucket
    assert len(result.outcomes) == 1
    counts = result.counts(set())
    assert counts["sent"] == 1
    assert counts["lost"] == (1 if bucket in ("lost", "error") else 0)
    # The benchmarks count the same request: served, rejected, an error, or lost (no answer at all).
    figures = result.figures()
    assert (figures["ok"], figures["errors"]) == (int(bucket == "served"), int(bucket == "error"))
    assert figures["lost"] == (1 if bucket in ("lost", "unread", "refused") else 0)


def test_an_unread_request_is_lost_only_if_the_server_logged_it() -> None:
    result = Tally(sent=2, outcomes=[Outcome("unread", None, 0.1, "drill-7"), Outcome("unread", None, 0.1, "drill-8")])
    assert result.counts({"drill-7"})["lost"] == 1
    assert result.counts({"drill-7"})["unread_not_taken"] == 1
    assert result.counts(set())["lost"] == 0
