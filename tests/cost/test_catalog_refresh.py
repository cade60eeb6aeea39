"""`cost-catalog-refresh` rewrites instances.json from botocore Stubber-backed AWS clients and a loopback Spot
Instance Advisor file; offline it leaves the snapshot untouched. Never real AWS."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from cost import live, spot_advisor
from cost.catalog import DATA_DIR, parse_instance
from cost.catalog.refresh import INSTANCES_FILE, main, refresh, write_atomically
from tests.cost.conftest import Advisor
from voicefleet_config import INSTANCE_TYPES

NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
TODAY = "2026-12-01"
# Invented figures (distinct from the snapshot's, so a rewrite is visible); p3.2xlarge gets no price at all.
ON_DEMAND = {t: round(1.0 + i / 10, 3) for i, t in enumerate(INSTANCE_TYPES) if t != "p3.2xlarge"}
SPOT_ROWS = [
    ("g5.xlarge", "us-east-1a", "0.40"),
    ("g5.xlarge", "us-east-1b", "0.50"),
    ("g5.xlarge", "us-east-1c", "0.45"),
]


def product(usd: float) -> str:
    return json.dumps({"terms": {"OnDemand": {"T": {"priceDimensions": {"D": {"pricePerUnit": {"USD": str(usd)}}}}}}})


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A copy of the catalog's data files to rewrite."""
    out = tmp_path / "data"
    shutil.copytree(DATA_DIR, out)
    return out


def stubbed_clients(stubs: list[Stubber]) -> Any:
    """region -> (pricing, ec2) clients whose answers are queued in botocore Stubbers (one call per type, in order)."""

    def make(region: str) -> tuple[Any, Any]:
        pricing = boto3.client("pricing", region_name="us-east-1")
        ec2 = boto3.client("ec2", region_name=region)
        pricing_stub, ec2_stub = Stubber(pricing), Stubber(ec2)
        for itype in INSTANCE_TYPES:
            listed = [product(ON_DEMAND[itype])] if itype in ON_DEMAND else []
            pricing_stub.add_response(
                "get_products",
                {"PriceList": listed, "FormatVersion": "aws_v1"},
                {"ServiceCode": "AmazonEC2", "Filters": ANY, "MaxResults": 10},
            )
        history = [
            {"InstanceType": t, "AvailabilityZone": z, "SpotPrice": p, "ProductDescription": "Linux/UNIX"}
            for t, z, p in SPOT_ROWS
        ]
        ec2_stub.add_response(
            "describe_spot_price_history",
            {"SpotPriceHistory": history},
            {"InstanceTypes": list(INSTANCE_TYPES), "ProductDescriptions": ["Linux/UNIX"], "StartTime": NOW},
        )
        pricing_stub.activate()
        ec2_stub.activate()
        stubs.extend((pricing_stub, ec2_stub))
        return pricing, ec2

    return make


def test_refresh_rewrites_the_fetched_figures_with_source_and_date(data_dir: Path, advisor: Advisor) -> None:
    before = json.loads((data_dir / INSTANCES_FILE).read_text(encoding="utf-8"))
    stubs: list[Stubber] = []
    refreshed = refresh(data_dir, ["us-east-1"], now=NOW, clients=stubbed_clients(stubs), advisor_url=advisor.url)
    for stub in stubs:
        stub.assert_no_pending_responses()
    assert len(advisor.requests) == 1
    (region,) = refreshed
    assert region.summary(INSTANCE_TYPES).startswith("us-east-1: on-demand 7/8 (kept: p3.2xlarge); Spot 1/8")
    after = json.loads((data_dir / INSTANCES_FILE).read_text(encoding="utf-8"))
    g5 = after["instances"]["g5.xlarge"]
    assert g5["on_demand"]["us-east-1"] == {
        "usd_per_hour": ON_DEMAND["g5.xlarge"],
        "source": f"{live.PRICING_SOURCE}, us-east-1",
        "as_of": TODAY,
        "verified": True,
    }
    assert g5["spot"]["us-east-1"]["usd_per_hour"] == 0.45  # the median over zones
    assert (g5["spot"]["us-east-1"]["source"], g5["spot"]["us-east-1"]["as_of"]) == (live.SPOT_SOURCE, TODAY)
    bucket = g5["interruption"]["us-east-1"]
    assert (bucket["bucket"], bucket["as_of"], bucket["savings_pct"]) == (">20%", TODAY, 52.0)
    assert bucket["source"] == f"{spot_advisor.SOURCE} {advisor.url}"
    # What was not fetched keeps its figure, source and date: another region, a missing price, a missing Spot row.
    assert g5["on_demand"]["us-west-2"] == before["instances"]["g5.xlarge"]["on_demand"]["us-west-2"]
    p3 = after["instances"]["p3.2xlarge"]
    assert p3["on_demand"]["us-east-1"] == before["instances"]["p3.2xlarge"]["on_demand"]["us-east-1"]
    g6 = after["instances"]["g6.xlarge"]
    assert g6["spot"]["us-east-1"] == before["instances"]["g6.xlarge"]["spot"]["us-east-1"]
    assert after["as_of"] == TODAY
    assert after["source"].startswith(f"cost.catalog.refresh on {TODAY} for us-east-1")
    assert after["regions"] == before["regions"]
    # The catalog's own loader accepts every rewritten entry.
    for name, raw in after["instances"].items():
        parse_instance(name, raw)


def test_a_new_region_is_added_to_the_snapshot(data_dir: Path, advisor: Advisor) -> None:
    refresh(data_dir, ["eu-central-1"], now=NOW, clients=stubbed_clients([]), advisor_url=advisor.url)
    after = json.loads((data_dir / INSTANCES_FILE).read_text(encoding="utf-8"))
    assert after["regions"][-1] == "eu-central-1"
    assert after["instances"]["g5.xlarge"]["on_demand"]["eu-central-1"]["as_of"] == TODAY


def test_dry_run_writes_nothing(data_dir: Path, advisor: Advisor) -> None:
    original = (data_dir / INSTANCES_FILE).read_bytes()
    refreshed = refresh(
        data_dir, ["us-east-1"], now=NOW, clients=stubbed_clients([]), advisor_url=advisor.url, dry_run=True
    )
    assert refreshed[0].fetched
    assert (data_dir / INSTANCES_FILE).read_bytes() == original


def test_offline_keeps_the_snapshot(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No credentials and no advisor (the autouse fixture points it at a closed port): exit 1, file untouched."""
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    original = (data_dir / INSTANCES_FILE).read_bytes()
    assert main(["--data-dir", str(data_dir), "--region", "us-east-1"]) == 1
    captured = capsys.readouterr()
    assert "warning: no AWS credentials found" in captured.err
    assert "nothing could be fetched; the snapshot is unchanged" in captured.err
    assert captured.out.startswith("us-east-1: on-demand 0/8")
    assert (data_dir / INSTANCES_FILE).read_bytes() == original


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--region", "mars-1"], "--region 'mars-1' is not an AWS region name"),
        (["--bogus"], "No such option"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    data_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    assert main(["--data-dir", str(data_dir), *args]) == 2
    err = capsys.readouterr().err
    assert says in err
    assert len(err.strip().splitlines()) == 1


def test_a_missing_snapshot_is_a_readable_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path)]) == 2
    assert "cannot read the snapshot" in capsys.readouterr().err


def test_writing_keeps_the_file_format_and_is_atomic(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = data_dir / INSTANCES_FILE
    original = path.read_bytes()
    write_atomically(path, json.loads(original))
    assert path.read_bytes() == original  # same layout as the committed file: diffs show only changed figures

    def fail(self: Path, target: Path) -> Path:
        raise OSError("disk full")

    monkeypatch.setattr(Path, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, {"instances": {}})
    assert path.read_bytes() == original
    assert sorted(p.name for p in data_dir.iterdir()) == sorted(p.name for p in DATA_DIR.iterdir() if p.is_file())


def test_every_supported_type_has_a_catalog_entry() -> None:
    """voicefleet_config's list is the one the config validates against; the catalog prices exactly those."""
    raw = json.loads((DATA_DIR / INSTANCES_FILE).read_text(encoding="utf-8"))
    assert tuple(sorted(raw["instances"])) == INSTANCE_TYPES
