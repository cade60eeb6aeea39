"""The cost-estimate CLI end to end: JSON schema, formats, chart, and every bad-input path (exit 2, one line)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from cost.cli import main


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["--format", "json", *args]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def test_json_schema_for_prod(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "--env", "prod", "--month", "2026-05")
    assert set(data["catalog"]) >= {"source", "as_of", "region"}
    assert data["hours_per_month"] == pytest.approx(178.92)
    option_keys = {
        "instance_type",
        "gpu",
        "gpu_memory_gib",
        "purchase",
        "feasible",
        "reasons",
        "hourly_price",
        "instances",
        "monthly",
        "cost_per_1k_requests",
        "cost_per_audio_hour",
        "throughput_source",
    }
    for option in data["options"]:
        assert option_keys <= set(option)
        assert set(option["monthly"]) == {"compute", "storage", "egress", "network", "other", "total"}
        if option["hourly_price"] is not None:
            assert option["monthly"]["total"] == pytest.approx(
                sum(v for k, v in option["monthly"].items() if k != "total"), abs=0.05
            )
        assert option["feasible"] == (not option["reasons"])
    # The environment's own fleet first, then the catalog alternatives: priced, feasible, within the cap, cheapest.
    own = [o for o in data["options"] if o["source"] == "environment"]
    alternatives = data["options"][len(own) :]
    assert [o["instance_type"] for o in own] == ["g5.xlarge", "g6.xlarge", "g5.2xlarge"]
    assert all(o["source"] == "catalog" for o in alternatives)
    keys = [
        (o["hourly_price"] is None, not o["feasible"], o["above_max_capacity"], o["monthly"]["total"] or 0)
        for o in alternatives
    ]
    assert keys == sorted(keys)
    rec = data["recommendation"]
    assert set(rec) >= {"instance_type", "purchase", "monthly_total", "why", "ttfa_p95_s", "with_one_spare"}
    # prod's own fleet needs more than fleet.max_capacity 4 at peak: the cheapest feasible alternative (all of them
    # are above the cap too under the 2 s first-audio SLO) is recommended, with its cdk.json change.
    assert not any(o["feasible"] for o in own)
    best = min(
        (o for o in alternatives if o["feasible"]), key=lambda o: (o["above_max_capacity"], o["monthly"]["total"])
    )
    assert (rec["instance_type"], rec["purchase"], rec["monthly_total"]) == (
        best["instance_type"],
        best["purchase"],
        best["monthly"]["total"],
    )
    assert rec["cdk_json_change"] == best["cdk_json_change"]


def test_what_if_flags_change_the_answer(capsys: pytest.CaptureFixture[str]) -> None:
    base = run_json(capsys, "--env", "prod", "--instance-types", "g5.xlarge", "--purchase", "on-demand")
    relaxed = run_json(
        capsys,
        "--env",
        "prod",
        "--instance-types",
        "g5.xlarge",
        "--purchase",
        "on-demand",
        "--ttfa-p95",
        "30",
        "--requests-per-day",
        "30000",
        "--hours",
        "08:00-20:00",
        "--weekdays",
        "mon-sat",
        "--glacier-after-days",
        "7",
    )
    assert not base["options"][0]["feasible"]  # g5.xlarge Spot, the group as deployed: above max_capacity at peak
    opt = relaxed["options"][-1]
    assert opt["feasible"]
    assert opt["instances"] >= 1
    assert relaxed["hours_per_month"] > base["hours_per_month"]
    always = run_json(capsys, "--env", "prod", "--always-on", "--instance-types", "g5.xlarge", "--ttfa-p95", "30")
    assert always["hours_per_month"] == 730


def test_all_environments_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys)
    assert set(data["environments"]) == {"dev", "prod"}


def test_table_csv_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--env", "dev"]) == 0
    assert "Recommendation" in capsys.readouterr().out
    assert main(["--env", "dev", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows
    assert rows[0]["environment"] == "dev"
    assert main(["--env", "dev", "--format", "markdown"]) == 0
    assert "| instance_type |" in capsys.readouterr().out


@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_chart(tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str) -> None:
    out = tmp_path / f"bill{suffix}"
    assert main(["--env", "dev", "--format", "json", "--chart", str(out)]) == 0
    assert out.stat().st_size > 1000
    if suffix == ".svg":
        assert "<svg" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--instance-types", "g5.xlarg"], "did you mean 'g5.xlarge'"),
        (["--region", "mars-1"], "not an AWS region"),
        (["--region", "sa-east-1"], "not in the price snapshot"),
        (["--requests-per-day", "-1"], "--requests-per-day -1"),
        (["--avg-chars", "0"], "--avg-chars 0"),
        (["--hours", "9-18"], "HH:MM"),
        (["--hours", "18:00-09:00"], "not after start"),
        (["--weekdays", "mon-fry"], "mon-fry"),
        (["--timezone", "Mars/Base"], "unknown IANA timezone"),
        (["--template", "/does/not/exist.json"], "cannot read"),
        (["--month", "2026-13"], "YYYY-MM"),
        (["--format", "xml"], "--format 'xml'"),
        (["--purchase", "reserved"], "--purchase 'reserved'"),
        (["--env", "prd"], "did you mean 'prod'"),
        (["--output-format", "ogg"], "output_format"),
        (["--chart", "x.pdf"], ".png or .svg"),
        (["--nope"], "No such option"),
    ],
)
def test_bad_input_exit_2_one_line(capsys: pytest.CaptureFixture[str], args: list[str], needle: str) -> None:
    assert main(["--env", "dev", *args] if "--env" not in args else args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("cost-estimate: error:")
    assert needle in lines[0]
    assert "Traceback" not in captured.err


def test_unreadable_template(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "t.json"
    bad.write_text("not json", encoding="utf-8")
    assert main(["--template", str(bad)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
