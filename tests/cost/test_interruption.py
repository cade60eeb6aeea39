"""Spot interruption buckets per instance type x region: catalog figures, the default assumption, and how they show."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cost import catalog, spot
from cost.catalog import Instance, parse_instance
from cost.cli import main

REPO = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["--env", "prod", *args]) == 0
    return capsys.readouterr().out


def spot_option(report: dict[str, Any], itype: str) -> dict[str, Any]:
    found: dict[str, Any] = next(o for o in report["options"] if (o["instance_type"], o["purchase"]) == (itype, "spot"))
    return found


def test_default_bucket_named_and_priced_as_gaps(capsys: pytest.CaptureFixture[str]) -> None:
    report = json.loads(run(capsys, "--format", "json"))
    g4dn = spot_option(report, "g4dn.xlarge")
    assert g4dn["interruption_bucket"] == "10-15%"
    assert g4dn["interruption_source"] == catalog.DEFAULT_INTERRUPTION_SOURCE
    assert "not measured" in g4dn["interruption_source"]
    assert "10-15% of instances per month (default assumption, not measured)" in g4dn["price_source"]
    assert g4dn["spot_risk"]["interrupted_share_per_month"] == 0.125
    on_demand = next(o for o in report["options"] if o["purchase"] == "on-demand")
    assert on_demand["interruption_bucket"] is None
    assert on_demand["interruption_source"] is None
    assert on_demand["spot_risk"] is None
    # An unpriced Spot option uses no bucket.
    assert spot_option(report, "p3.2xlarge")["interruption_bucket"] is None


def with_bucket(monkeypatch: pytest.MonkeyPatch, itype: str, region: str, entry: dict[str, Any]) -> None:
    raw = json.loads((Path(catalog.__file__).parent / "data" / "instances.json").read_text(encoding="utf-8"))
    raw["instances"][itype]["interruption"] = {region: entry}
    patched = parse_instance(itype, raw["instances"][itype])

    def lookup(name: str) -> Instance:
        return patched if name == itype else catalog.instance(name)

    monkeypatch.setattr(spot, "instance", lookup)


def test_catalog_bucket_per_type_and_region_is_used(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = {"bucket": "<5%", "source": "test figure", "as_of": "2026-11-01", "verified": False}
    with_bucket(monkeypatch, "g4dn.xlarge", "us-east-1", entry)
    report = json.loads(run(capsys, "--format", "json"))
    g4dn = spot_option(report, "g4dn.xlarge")
    spec = catalog.instance("g4dn.xlarge")
    # The bucket sets how often the fleet is one instance short, never the hourly price (Spot is bought as Spot).
    assert g4dn["hourly_price"] == spec.spot["us-east-1"].usd_per_hour
    assert g4dn["spot_risk"]["interrupted_share_per_month"] == 0.025
    assert (g4dn["interruption_bucket"], g4dn["interruption_source"]) == ("<5%", "test figure (2026-11-01), unverified")
    assert spot_option(report, "g5.xlarge")["interruption_bucket"] == "10-15%"  # other types keep the default
    # Another region's figure does not leak into us-east-1.
    with_bucket(monkeypatch, "g4dn.xlarge", "eu-west-1", entry)
    assert spot_option(json.loads(run(capsys, "--format", "json")), "g4dn.xlarge")["interruption_bucket"] == "10-15%"


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ({"bucket": "7%", "source": "s", "as_of": "d"}, "instances.g5.xlarge.interruption.us-east-1.bucket: '7%'"),
        ({"bucket": "<5%", "as_of": "d"}, "instances.g5.xlarge.interruption.us-east-1.source: required"),
        ({"bucket": "<5%", "source": "s", "as_of": ""}, "instances.g5.xlarge.interruption.us-east-1.as_of: required"),
    ],
)
def test_bad_catalog_bucket_names_the_key(entry: dict[str, Any], says: str) -> None:
    raw = json.loads((Path(catalog.__file__).parent / "data" / "instances.json").read_text(encoding="utf-8"))
    raw["instances"]["g5.xlarge"]["interruption"] = {"us-east-1": entry}
    with pytest.raises(ValueError, match="^" + says.replace(".", r"\.").replace("(", r"\(")):
        parse_instance("g5.xlarge", raw["instances"]["g5.xlarge"])


def test_shipped_catalog_buckets_are_valid_and_sourced() -> None:
    for itype in catalog.known_instance_types():
        for region, risk in catalog.instance(itype).interruption.items():
            assert region in catalog.known_regions()
            assert risk.bucket in catalog.interruption_buckets()
            assert risk.source
            assert risk.as_of
    assert catalog.default_interruption().bucket == "10-15%"
    assert not catalog.default_interruption().measured


def test_table_markdown_csv_footnote_the_bucket(capsys: pytest.CaptureFixture[str]) -> None:
    footnote = "† Spot interruption bucket 10-15% for g5.xlarge, g6.xlarge, g5.2xlarge, g4dn.xlarge"
    table = run(capsys)
    words = " ".join(table.split())  # rich wraps long lines at the console width
    assert footnote in words
    assert "default assumption (model.json spot.default_bucket), not measured" in words
    assert any("│ spot†" in line for line in table.splitlines() if "g4dn.xlarge" in line)
    markdown = run(capsys, "--format", "markdown")
    assert footnote in markdown
    assert "p3.2xlarge" not in next(line for line in markdown.splitlines() if line.startswith("†"))
    rows = list(csv.DictReader(io.StringIO(run(capsys, "--format", "csv"))))
    g4dn = next(r for r in rows if (r["instance_type"], r["purchase"]) == ("g4dn.xlarge", "spot"))
    assert g4dn["interruption_bucket"] == "10-15%"
    assert g4dn["interruption_source"].startswith("default assumption")


def test_default_run_does_not_load_urllib_request() -> None:
    code = (
        "import sys; from cost.cli import main; main(['--env', 'prod', '--format', 'json']); "
        "print(sorted(m for m in ('urllib.request', 'http.client', 'cost.live', 'cost.spot_advisor') "
        "if m in sys.modules), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stderr.strip() == "[]"
