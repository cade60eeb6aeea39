"""--live Spot interruption buckets: a real HTTP server on 127.0.0.1 serves sample advisor files; never the real URL."""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from cost import live, spot_advisor
from cost.catalog import instance
from cost.cli import main
from tests.cost.conftest import SAMPLE, Advisor, closed_port_url

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


def prod_live(capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], list[str]]:
    assert main(["--env", "prod", "--live", "--format", "json"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err.strip().splitlines()


def option(report: dict[str, Any], itype: str, purchase: str = "spot") -> dict[str, Any]:
    found: dict[str, Any] = next(
        o for o in report["options"] if (o["instance_type"], o["purchase"]) == (itype, purchase)
    )
    return found


def test_parse_maps_ranges_to_buckets_per_type() -> None:
    buckets = spot_advisor.parse(SAMPLE, "us-east-1", as_of="2026-11-25", url="http://x/a.json")
    assert {t: b.bucket for t, b in buckets.items()} == {"g4dn.xlarge": "<5%", "g5.xlarge": ">20%"}
    assert buckets["g4dn.xlarge"].savings_pct == 57.0
    assert buckets["g4dn.xlarge"].measured
    assert "Spot Instance Advisor" in buckets["g4dn.xlarge"].source
    # Linux only: the Windows 10-15% figure for g4dn.xlarge is not used.
    assert spot_advisor.parse(SAMPLE, "eu-west-1", as_of="x", url="u")["g4dn.xlarge"].bucket == "5-10%"
    assert spot_advisor.parse(SAMPLE, "ap-southeast-1", as_of="x", url="u") == {}


def test_live_buckets_change_the_spot_expected_cost(
    advisor: Advisor, no_credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    report, err = prod_live(capsys)
    assert err == ["warning: --live: no AWS credentials found; using the price snapshot"]
    for itype, bucket, share in (("g4dn.xlarge", "<5%", 0.025), ("g5.xlarge", ">20%", 0.25)):
        spot = option(report, itype)
        sp = instance(itype).spot["us-east-1"].usd_per_hour
        assert spot["interruption_bucket"] == bucket
        assert spot["hourly_price"] == sp  # Spot is bought as Spot: the bucket sets the gaps, not the price
        assert spot["spot_risk"]["interrupted_share_per_month"] == share
        today = dt.datetime.now(dt.UTC).date().isoformat()  # the fetch date, UTC
        assert spot["interruption_source"].startswith(f"{spot_advisor.SOURCE} {advisor.url} ({today})")
        assert f"{bucket} of instances per month (per-type figure)" in spot["price_source"]
    # The advisor's savings figure is shown next to the discount actually priced (a cross-check, not used).
    g4dn = instance("g4dn.xlarge")
    discount = 1 - g4dn.spot["us-east-1"].usd_per_hour / g4dn.on_demand["us-east-1"].usd_per_hour
    expected = f"advisor savings 57% vs the {discount:.0%} discount priced here"
    assert option(report, "g4dn.xlarge")["interruption_source"].endswith(expected)
    # A type the file does not list keeps the default, and says it is an assumption.
    g6 = option(report, "g6.xlarge")
    assert g6["interruption_bucket"] == "10-15%"
    assert g6["interruption_source"].startswith("default assumption")
    assert "not measured" in g6["interruption_source"]
    assert option(report, "g5.xlarge", "on-demand")["interruption_bucket"] is None
    # g4dn.xlarge in the "<5%" bucket is interrupted less often than the default assumes (12.5 %).
    assert (
        option(report, "g4dn.xlarge")["spot_risk"]["expected_interruptions_per_month"]
        < (option(report, "g6.xlarge")["spot_risk"]["expected_interruptions_per_month"])
    )


def test_advisor_file_is_cached_with_the_prices(
    advisor: Advisor, no_credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    prod_live(capsys)
    prod_live(capsys)
    assert len(advisor.requests) == 1  # the second run read the cache
    cache = json.loads((live.cache_dir() / "prices-us-east-1.json").read_text(encoding="utf-8"))
    section = cache["spot_advisor"]
    assert dt.datetime.fromisoformat(section["fetched_at"]).tzinfo is not None
    assert section["interruption"]["g4dn.xlarge"]["bucket"] == "<5%"
    assert cache["fetched_at"] == ""  # no credentials: no prices were fetched, only the advisor file
    later = dt.datetime.fromisoformat(section["fetched_at"]) + dt.timedelta(hours=25)
    assert live.read_cache("us-east-1", later) is None  # each section expires after 24 h


def test_cache_round_trip_keeps_every_field(advisor: Advisor, no_credentials: None) -> None:
    fresh = live.fetch("us-east-1", ("g4dn.xlarge",), now=NOW, pricing=None, ec2=None, use_cache=False)
    cached = live.read_cache("us-east-1", NOW + dt.timedelta(hours=1))
    assert cached is not None
    assert cached.interruption == fresh.interruption
    assert cached.interruption
    assert cached.advisor_fetched_at == NOW.isoformat()


MALFORMED = [
    (b"<html>not json</html>", "Expecting value"),
    (json.dumps({"spot_advisor": {}}).encode(), "'ranges' is missing"),
    (json.dumps({**SAMPLE, "ranges": [{"index": 0, "label": "rare"}]}).encode(), "ranges[0] needs"),
    (
        json.dumps({**SAMPLE, "spot_advisor": {"us-east-1": {"Linux": {"g4dn.xlarge": {"s": 57, "r": 9}}}}}).encode(),
        "spot_advisor.us-east-1.Linux.g4dn.xlarge.r is not one of",
    ),
    (
        json.dumps({**SAMPLE, "spot_advisor": {"us-east-1": {"Linux": {"g4dn.xlarge": {"s": "a", "r": 0}}}}}).encode(),
        "g4dn.xlarge.s is not a number",
    ),
    (json.dumps({**SAMPLE, "spot_advisor": {"eu-west-1": {}}}).encode(), "has no Linux figures for us-east-1"),
]


@pytest.mark.parametrize(("body", "says"), MALFORMED)
def test_malformed_file_falls_back_with_one_line(
    advisor: Advisor, no_credentials: None, capsys: pytest.CaptureFixture[str], body: bytes, says: str
) -> None:
    advisor.body = body
    report, err = prod_live(capsys)
    advisor_lines = [line for line in err if "Spot Instance Advisor" in line]
    assert len(advisor_lines) == 1
    assert says in advisor_lines[0]
    assert "using the catalog's interruption buckets" in advisor_lines[0]
    assert_snapshot_defaults(report)
    assert not (live.cache_dir() / "prices-us-east-1.json").exists()  # nothing worth caching


def assert_snapshot_defaults(report: dict[str, Any]) -> None:
    spot = option(report, "g4dn.xlarge")
    assert spot["interruption_bucket"] == "10-15%"
    assert spot["interruption_source"].startswith("default assumption")
    assert spot["spot_risk"]["interrupted_share_per_month"] == 0.125


def test_unreachable_server_falls_back(no_credentials: None, capsys: pytest.CaptureFixture[str]) -> None:
    report, err = prod_live(capsys)  # the autouse fixture points the URL at a closed loopback port
    assert len(err) == 2, err
    assert "not reachable at http://127.0.0.1:" in err[1]
    assert_snapshot_defaults(report)


def test_http_error_and_timeout_fall_back(advisor: Advisor) -> None:
    advisor.status = 503
    buckets, warnings = spot_advisor.fetch("us-east-1", as_of="d")
    assert buckets == {}
    assert len(warnings) == 1
    assert "answered HTTP 503" in warnings[0]
    # A server that accepts the connection and never answers: the timeout ends the wait.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/a.json"
        buckets, warnings = spot_advisor.fetch("us-east-1", as_of="d", url=url, timeout=0.2)
    assert buckets == {}
    assert len(warnings) == 1
    assert "not reachable" in warnings[0]
    assert "\n" not in warnings[0]


def test_only_http_urls_are_fetched(tmp_path: Path) -> None:
    local = tmp_path / "advisor.json"
    local.write_text(json.dumps(SAMPLE), encoding="utf-8")
    buckets, warnings = spot_advisor.fetch("us-east-1", as_of="d", url=local.as_uri())
    assert buckets == {}
    assert "is not an http(s) URL" in warnings[0]


def test_closed_port_helper_really_refuses() -> None:
    assert spot_advisor.fetch("us-east-1", as_of="d", url=closed_port_url())[0] == {}
