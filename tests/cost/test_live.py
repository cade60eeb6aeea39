"""--live against botocore's Stubber (pricing) and moto on loopback (Spot history); never real AWS."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from cost import live

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


def product(usd: str) -> str:
    return json.dumps({"terms": {"OnDemand": {"T": {"priceDimensions": {"D": {"pricePerUnit": {"USD": usd}}}}}}})


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VOICEFLEET_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_fetch_prices_and_cache(cache: Path, aws_client: Callable[..., Any]) -> None:
    pricing = boto3.client("pricing", region_name="us-east-1")
    stub = Stubber(pricing)
    stub.add_response(
        "get_products",
        {"PriceList": [product("1.006")], "FormatVersion": "aws_v1"},
        {"ServiceCode": "AmazonEC2", "Filters": ANY, "MaxResults": 10},
    )
    stub.activate()
    ec2 = aws_client("ec2")
    result = live.fetch("us-east-1", ("g5.xlarge",), now=NOW, pricing=pricing, ec2=ec2)
    stub.assert_no_pending_responses()
    assert result.on_demand["g5.xlarge"].usd_per_hour == 1.006
    assert "Price List API" in result.on_demand["g5.xlarge"].source
    # moto answers every Spot query with 0.00001; what matters is that the median per type is taken and stored.
    assert result.spot["g5.xlarge"].usd_per_hour == pytest.approx(0.00001)
    cached = json.loads((cache / "prices-us-east-1.json").read_text(encoding="utf-8"))
    assert cached["fetched_at"] == NOW.isoformat()
    # Within a day the cache answers without any client.
    again = live.fetch("us-east-1", ("g5.xlarge",), now=NOW + dt.timedelta(hours=1))
    assert again.on_demand["g5.xlarge"].usd_per_hour == 1.006
    assert live.read_cache("us-east-1", NOW + dt.timedelta(days=2)) is None


def test_no_credentials_falls_back_with_warning(
    cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert live.fetch("us-east-1", ("g5.xlarge",), now=NOW).warnings
    from cost.cli import main

    assert main(["--env", "dev", "--live", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert "warning: --live: no AWS credentials" in captured.err
    assert json.loads(captured.out)["catalog"]["as_of"] == "2026-11-25"
