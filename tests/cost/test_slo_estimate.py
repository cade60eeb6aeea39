"""cost-estimate under the SLO users feel: options a team can act on, the bill following the hourly fleet, Spot as
the group behaves, and the regressions issue 14 listed."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from freezegun import freeze_time

from cost import bill
from cost.catalog import instance, service_price
from cost.cli import main


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["--format", "json", *args]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def fails(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


@pytest.fixture(scope="module")
def prod(request: pytest.FixtureRequest) -> dict[str, Any]:
    from cost.estimator import estimate
    from cost.whatif import WhatIf, scenario
    from voicefleet_config import load_environment

    return estimate(scenario(load_environment("prod"), WhatIf(env_given=True))).to_json()


def test_the_slo_is_in_the_json(prod: dict[str, Any]) -> None:
    assert prod["slo"] == {"ttfa_p95_s": 2.0, "stream_rtf_max": 1.0, "latency_p95_s": None}
    for option in prod["options"]:
        if option["feasible"]:
            assert option["ttfa_p95_s"] <= 2.0
            assert option["stream_rtf"] < 1.0
    rec = prod["recommendation"]
    assert rec["ttfa_p95_s"] <= 2.0
    assert rec["with_one_spare"]["instances"] == rec["instances"] + 1
    assert rec["reference_g5_xlarge_on_demand_24x7"] == round(1.006 * 730, 2)  # the seed's $734 baseline
    assert rec["ratio_to_reference"] == pytest.approx(rec["monthly_total"] / (1.006 * 730), abs=1e-3)


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv"])
def test_the_slo_is_in_every_output(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    assert main(["--env", "dev", "--format", fmt, "--instance-types", "g4dn.xlarge"]) == 0
    out = capsys.readouterr().out
    if fmt == "csv":
        assert "ttfa_p95_s" in out.splitlines()[0]
    else:
        assert "SLO: p95 time to first audio <= 3 s (queueing included), per-stream RTF < 1" in out


def test_environment_fleet_first_then_catalog_alternatives(prod: dict[str, Any]) -> None:
    sources = [o["source"] for o in prod["options"]]
    own = ["g5.xlarge", "g6.xlarge", "g5.2xlarge"]
    assert sources[:3] == ["environment"] * 3
    assert [o["instance_type"] for o in prod["options"][:3]] == own
    assert set(sources[3:]) == {"catalog"}
    for option in prod["options"][:3]:
        assert option["purchase"] == "spot"  # base 0 and 0 % above base: what the group buys
        assert option["cdk_json_change"] is None
        assert option["concurrency_per_gpu"] == prod["service"]["max_concurrency"]
    g6e = next(o for o in prod["options"] if o["instance_type"] == "g6e.xlarge" and o["purchase"] == "on-demand")
    assert g6e["cdk_json_change"]["fleet.instance_types"] == ["g6e.xlarge"]
    assert g6e["cdk_json_change"]["fleet.on_demand_percentage_above_base"] == 100


def test_above_max_capacity_is_flagged(capsys: pytest.CaptureFixture[str]) -> None:
    """Regression (issue 14): 20,000 requests/day needed 5 x g6e against a cap of 4, unflagged."""
    data = run_json(capsys, "--env", "prod", "--requests-per-day", "20000", "--instance-types", "g6e.xlarge")
    option = next(o for o in data["options"] if o["purchase"] == "on-demand")
    assert option["instances"] > 4
    assert option["above_max_capacity"]
    assert option["cdk_json_change"]["fleet.max_capacity"] == option["instances"]  # the change raises the cap
    # The environment's own group stops at its cap: it cannot hold the SLO at peak, and says so.
    own = [o for o in data["options"] if o["source"] == "environment"]
    assert not any(o["feasible"] for o in own)
    assert any(o["above_max_capacity"] and any("above fleet.max_capacity 4" in r for r in o["reasons"]) for o in own)


def test_the_bill_follows_the_hourly_fleet(prod: dict[str, Any]) -> None:
    """Regression (issue 14): the bill charged the peak fleet for every open hour."""
    option = next(o for o in prod["options"] if o["instance_type"] == "g6.xlarge" and o["purchase"] == "on-demand")
    sizes = option["hourly_instances"]
    assert max(sizes) > min(sizes)
    workdays, price = prod["workdays"], instance("g6.xlarge").on_demand["us-east-1"].usd_per_hour
    warmup_h = boot_h = 25 / 60  # fleet.boot_minutes: the warm-up, and each scale-out launched ahead of its hour
    ups = sum(b - a for a, b in itertools.pairwise(sizes) if b > a)
    per_day = sum(sizes) + sizes[0] * warmup_h + ups * boot_h
    assert option["monthly"]["compute"] == pytest.approx(per_day * workdays * price, rel=1e-3)  # workdays rounded
    assert option["monthly"]["compute"] < max(sizes) * prod["hours_per_month"] * price


def test_spot_is_priced_as_spot(prod: dict[str, Any]) -> None:
    """Regression (issue 14): an on-demand 'fallback' share added 19 % to g5.xlarge Spot; the group has on-demand
    base 0 and 0 % above base, so it never buys on-demand. Interruptions are capacity gaps instead."""
    option = next(o for o in prod["options"] if o["instance_type"] == "g5.xlarge" and o["source"] == "environment")
    assert option["hourly_price"] == instance("g5.xlarge").spot["us-east-1"].usd_per_hour
    risk = option["spot_risk"]
    assert risk["replacement_gap_minutes"] == 25
    assert risk["expected_interruptions_per_month"] > 0
    assert 0 <= risk["slo_breach_share_of_open_time"] < 1
    spare = option["with_one_spare"]
    assert spare["monthly_total"] > option["monthly"]["total"]


def test_mix_buys_on_demand_only_where_base_and_percentage_say(capsys: pytest.CaptureFixture[str]) -> None:
    from cost.estimator import estimate
    from cost.whatif import WhatIf, scenario
    from voicefleet_config import parse_environment

    env = parse_environment(
        "mixed",
        {
            "fleet": {
                "instance_types": ["g6e.xlarge"],
                "min_capacity": 1,
                "max_capacity": 8,
                "on_demand_base_capacity": 1,
                "on_demand_percentage_above_base": 0,
            },
        },
    )
    report = estimate(scenario(env, WhatIf(env_given=True))).to_json()
    own = report["options"][0]
    assert own["purchase"] == "mix"
    od, sp = (
        instance("g6e.xlarge").on_demand["us-east-1"].usd_per_hour,
        instance("g6e.xlarge").spot["us-east-1"].usd_per_hour,
    )
    assert sp < own["hourly_price"] < od  # one on-demand instance in every hour, the rest Spot


def test_ttfa_flag_changes_the_sizing(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--env", "prod", "--instance-types", "g6.xlarge", "--purchase", "on-demand")
    strict = run_json(capsys, *args)["options"][-1]
    relaxed = run_json(capsys, *args, "--ttfa-p95", "4")["options"][-1]
    assert relaxed["instances"] < strict["instances"]
    clip = run_json(capsys, *args, "--latency-p95", "30")
    assert clip["slo"]["latency_p95_s"] == 30
    assert clip["options"][-1]["latency_p95_s"] <= 30


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--requests-per-day", "inf"), "--requests-per-day inf is not a finite number"),
        (("--requests-per-day", "nan"), "--requests-per-day nan is not a finite number"),
        (("--requests-per-day", "1e12"), "--requests-per-day 1e+12 is above 100,000,000"),
        (("--avg-chars", "1e308"), "--avg-chars 1e+308 exceeds service.max_text_chars 200"),
        (("--avg-chars", "500"), "--avg-chars 500 exceeds service.max_text_chars 200"),
        (("--ttfa-p95", "inf"), "--ttfa-p95 inf is not a finite number"),
        (("--stream-rtf-max", "0"), "--stream-rtf-max 0 must be greater than 0"),
        (("--stream-rtf-max", "2"), "workload.stream_rtf_max"),
        (("--peak-factor", "40"), "peak factor 40 is above the 9 open hours"),
        (("--engine-option", "onnx"), "--engine-option 'onnx' is not one of pytorch, trt, vllm"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], needle: str
) -> None:
    """Regression (issue 14): inf crashed with a traceback, 1e308 exited 0 with an infinite bill, 500 was accepted."""
    line = fails(capsys, "--env", "prod", *args)
    assert needle in line


def test_month_without_holiday_data_is_refused_naming_the_year(capsys: pytest.CaptureFixture[str]) -> None:
    """Regression (issue 14): --month 2030-02 was priced with no holiday data and no warning."""
    line = fails(capsys, "--env", "prod", "--month", "2030-02")
    assert "no holiday data for 2030" in line
    assert "--allow-missing-holidays" in line
    assert (
        main(["--env", "prod", "--month", "2030-02", "--allow-missing-holidays", "--instance-types", "g6.xlarge"]) == 0
    )
    err = capsys.readouterr().err
    assert "warning:" in err
    assert "2030" in err
    assert main(["--env", "prod", "--month", "2026-10", "--instance-types", "g6.xlarge"]) == 0  # covered


@freeze_time("2027-01-01")
def test_default_month_follows_the_year_priced(capsys: pytest.CaptureFixture[str]) -> None:
    """Regression (issue 14): on 2027-01-01 the default month silently lost its holidays."""
    line = fails(capsys, "--env", "prod")
    assert "no holiday data for 2027" in line
    assert "schedule.calendar covers 2026" in line


def test_cloudfront_requests_priced_per_region() -> None:
    requests = 20_000_000
    na = bill.cloudfront(0, requests, "PriceClass_100")
    asia = bill.cloudfront(0, requests, "PriceClass_200")
    assert na == pytest.approx(10_000_000 / 10_000 * 0.0100)
    assert asia == pytest.approx(10_000_000 / 10_000 * 0.0120)


def test_api_responses_count_as_egress(capsys: pytest.CaptureFixture[str]) -> None:
    """Regression (issue 14): egress counted downloads but not the API's own response bodies (the audio)."""
    args = ("--env", "prod", "--instance-types", "g6.xlarge", "--purchase", "on-demand", "--requests-per-day", "300000")
    big = run_json(capsys, *args)
    from cost.workload import chars_per_second

    outputs = big["requests_per_month"]
    gb = outputs * (100 / chars_per_second("zh")) * 48_000 * 2 / 1024**3  # response + one download, WAV
    rates = [0.12, 0.1, 0.095, 0.09, 0.08, 0.07, 0.06]
    bounds: list[float | None] = [10240, 51200, 153600, 512000, 1048576, 5242880, None]
    expected = bill.tiered(gb - 1024, bounds, rates) + (outputs * 2 - 10_000_000) / 10_000 * 0.012
    assert big["options"][-1]["monthly"]["egress"] == pytest.approx(expected, rel=1e-3)


def test_secrets_metrics_and_glacier_retrieval_are_priced() -> None:
    assert bill.secrets(count=2, calls=100) == pytest.approx(0.80 + 100 / 10_000 * 0.05)
    per_metric = service_price("cloudwatch_custom_metric_month")
    assert bill.custom_metrics(per_instance=6, per_group=17, instance_hours=730 * 4, group_hours=730) == pytest.approx(
        (6 * 4 + 17 - 10) * per_metric
    )
    assert bill.glacier_ir_retrieval(100, 1000) == pytest.approx(100 * 0.03 + 1000 / 1000 * 0.01)


def test_hourly_shape_from_the_config_drives_the_fleet() -> None:
    from cost.estimator import estimate
    from cost.whatif import WhatIf, scenario
    from voicefleet_config import parse_environment

    env = parse_environment(
        "shaped",
        {
            "fleet": {"instance_types": ["g6e.xlarge"], "max_capacity": 20},
            "workload": {"hourly_shape": [1, 1, 1, 1, 1, 1, 1, 1, 6]},
        },
    )
    report = estimate(scenario(env, WhatIf(env_given=True))).to_json()
    rates = report["hourly_load_rps"]
    assert rates[-1] == pytest.approx(6 * rates[0], rel=1e-3)
    assert sum(rates) * 3600 == pytest.approx(3000, rel=1e-3)  # the day's requests, reshaped
    sizes = report["options"][0]["hourly_instances"]
    assert sizes[-1] == max(sizes) > sizes[0]


def test_slots_set_above_the_profile_are_flagged() -> None:
    """A cdk.json max_concurrency above what the GPU serves within the SLO would run streams slower than real time."""
    from cost.estimator import estimate
    from cost.whatif import WhatIf, scenario
    from voicefleet_config import parse_environment

    env = parse_environment("pinned", {"fleet": {"instance_types": ["g5.xlarge"]}, "service": {"max_concurrency": 6}})
    report = estimate(scenario(env, WhatIf(env_given=True, instance_types="g5.xlarge"))).to_json()
    own = report["options"][0]
    assert own["concurrency_per_gpu"] == 6
    assert not own["feasible"]
    assert any("service.max_concurrency 6 is above the 2 stream(s) A10G serves" in r for r in own["reasons"])
    assert report["service"]["max_concurrency"] == 6  # what the template and the service get, as set
