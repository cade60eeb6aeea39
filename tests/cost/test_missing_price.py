"""A missing price (p3.2xlarge Spot in us-east-1 is not in the snapshot) is never $0."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from cost.chart import bars
from cost.cli import main
from cost.estimator import estimate
from cost.result import EstimateReport
from cost.whatif import WhatIf, scenario
from voicefleet_config import load_environment

UNPRICED = ("p3.2xlarge", "spot")  # no Spot figure captured for us-east-1 (docs/cost.md, Sources)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["--env", "prod", *args]) == 0
    return capsys.readouterr().out


def prod_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run(capsys, "--format", "json", *args))
    return data


def test_json_null_price_and_total_sorted_after_priced(capsys: pytest.CaptureFixture[str]) -> None:
    options = prod_json(capsys)["options"]
    unpriced = [o for o in options if (o["instance_type"], o["purchase"]) == UNPRICED]
    assert len(unpriced) == 1
    option = unpriced[0]
    assert option["hourly_price"] is None
    assert option["monthly"]["compute"] is None
    assert option["monthly"]["total"] is None
    assert option["cost_per_1k_requests"] is None
    assert option["cost_per_audio_hour"] is None
    assert not option["feasible"]
    assert any("no Spot price for p3.2xlarge in us-east-1: not captured" in r for r in option["reasons"])
    # Storage/network still apply to whatever runs; only the unpriced part is unknown.
    assert option["monthly"]["storage"] > 0
    priced_flags = [o["hourly_price"] is not None for o in options]
    assert priced_flags == sorted(priced_flags, reverse=True)  # every priced option before every unpriced one
    assert priced_flags.count(False) == 1  # p3.2xlarge Spot (g6e.xlarge Spot is priced since issue 14)
    assert all(o["monthly"]["total"] > 0 for o in options if o["hourly_price"] is not None)


def test_table_csv_markdown_say_na(capsys: pytest.CaptureFixture[str]) -> None:
    table = run(capsys)
    row = next(line for line in table.splitlines() if "p3.2xlarge" in line and "spot" in line and "│" in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells[6] == "n/a"  # $/h
    assert cells[7] == "n/a"  # compute
    assert cells[12] == "n/a"  # total
    assert "0.0000" not in row

    rows = list(csv.DictReader(io.StringIO(run(capsys, "--format", "csv"))))
    spot = next(r for r in rows if (r["instance_type"], r["purchase"]) == UNPRICED)
    assert (spot["hourly_price"], spot["compute"], spot["total"], spot["cost_per_1k_requests"]) == ("n/a",) * 4
    assert rows[-1]["hourly_price"] == "n/a"  # unpriced rows come last in CSV too

    markdown = run(capsys, "--format", "markdown")
    md_row = next(line for line in markdown.splitlines() if line.startswith("| p3.2xlarge | V100 | spot"))
    assert "| n/a |" in md_row


def test_only_unpriced_options_recommend_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    # prod's own fleet is always priced first; above max_capacity at peak, it is not feasible either.
    data = prod_json(capsys, "--instance-types", "p3.2xlarge", "--purchase", "spot")
    assert data["recommendation"]["instance_type"] is None
    assert data["recommendation"]["monthly_total"] is None
    assert main(["--env", "prod", "--instance-types", "p3.2xlarge", "--purchase", "spot"]) == 0
    assert "No option meets the workload" in capsys.readouterr().out


def prod_report(what_if: WhatIf) -> EstimateReport:
    return estimate(scenario(load_environment("prod"), what_if))


def test_chart_skips_unpriced(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    report = prod_report(WhatIf())
    drawn = {(o.instance_type, o.purchase) for o in bars(report)}
    assert UNPRICED not in drawn
    assert ("g4dn.xlarge", "spot") in drawn
    infeasible_only = prod_report(WhatIf(instance_types="p3.2xlarge", purchase="spot"))
    assert ("p3.2xlarge", "spot") not in [(o.instance_type, o.purchase) for o in bars(infeasible_only)]
    out = tmp_path / "bill.svg"
    assert main(["--env", "prod", "--format", "json", "--chart", str(out)]) == 0
    assert "<svg" in out.read_text(encoding="utf-8")
    capsys.readouterr()
    nothing = tmp_path / "none.svg"
    # prod's own g5/g6 types and g6e are not offered in Singapore: nothing has a price.
    args = ["--env", "prod", "--region", "ap-southeast-1", "--instance-types", "g6e.xlarge", "--chart", str(nothing)]
    assert main(args) == 2
    assert "no option has a price to draw" in capsys.readouterr().err
    assert not nothing.exists()
