"""The recommendation and its alternative (cheapest option that misses only the latency target), and p95_chars."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from cost.cli import main
from cost.throughput import ThroughputModel
from cost.workload import Demand, capacity, demand
from voicefleet_config import ConfigError, ServiceConfig, WorkloadConfig, parse_environment


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["--format", "json", *args]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def latency_only(option: dict[str, Any]) -> bool:
    return option["hourly_price"] is not None and all("p95 synthesis time" in r for r in option["reasons"])


def test_reference_workload_alternative_is_the_cheapest_latency_only_miss(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "--env", "prod")
    rec = data["recommendation"]
    alt = rec["alternative"]
    assert set(alt) >= {"instance_type", "purchase", "monthly_total", "latency_p95_s", "why"}
    assert alt["monthly_total"] < rec["monthly_total"]
    assert alt["latency_p95_s"] > 10
    assert alt["meets_target_s"] == math.ceil(alt["latency_p95_s"])
    # The p95 request the latency was computed for: 2 x 100 characters (capped at 200) at 4.5 characters/s.
    for why in (rec["why"], alt["why"]):
        assert "200 characters = 44.4 s of audio" in why
    assert (data["p95_request"]["chars"], data["p95_request"]["audio_s"]) == (200.0, 44.44)
    assert data["p95_request"]["basis"].startswith("assumed 2x the 100-character average")

    # Independent check: price every option that misses only the latency target at the target it does meet.
    relaxed: dict[tuple[str, str], float] = {}
    for option in data["options"]:
        if not latency_only(option) or option["feasible"]:
            continue
        met = math.ceil(option["latency_p95_s"])
        again = run_json(
            capsys,
            "--env",
            "prod",
            "--instance-types",
            option["instance_type"],
            "--purchase",
            option["purchase"],
            "--latency-p95",
            str(met),
        )
        assert again["options"][0]["feasible"]
        relaxed[(option["instance_type"], option["purchase"])] = again["options"][0]["monthly"]["total"]
    assert len(relaxed) >= 4
    cheapest = min(relaxed, key=lambda k: relaxed[k])
    assert (alt["instance_type"], alt["purchase"]) == cheapest
    assert alt["monthly_total"] == relaxed[cheapest]


def test_alternative_when_nothing_meets_the_target(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--env", "prod", "--instance-types", "g5.xlarge", "--purchase", "spot")
    rec = run_json(capsys, *args)["recommendation"]
    assert rec["instance_type"] is None
    assert rec["monthly_total"] is None
    assert "no option meets the 10 s p95 target" in rec["why"]
    alt = rec["alternative"]
    assert (alt["instance_type"], alt["purchase"], alt["meets_target_s"]) == ("g5.xlarge", "spot", 16)
    assert "would meet a 16 s p95 target" in alt["why"]
    assert main(list(args)) == 0
    out = capsys.readouterr().out
    assert "No option meets the workload" in out
    assert "Alternative: " in out
    assert "g5.xlarge (spot)" in out


def test_no_alternative_when_it_is_not_cheaper(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "--env", "dev")
    rec = data["recommendation"]
    # dev's recommendation is already the cheapest priced option: a slower one cannot save anything.
    assert rec["monthly_total"] == min(o["monthly"]["total"] for o in data["options"] if o["hourly_price"])
    assert rec["alternative"] is None
    assert main(["--env", "dev"]) == 0
    assert "Alternative:" not in capsys.readouterr().out


def test_capacity_flags_latency_only_misses() -> None:
    need = Demand(audio_s_avg=10.0, audio_s_p95=20.0, peak_rps=0.1, p95_chars=90.0, p95_basis="test")
    model = ThroughputModel({1: 0.5, 2: 0.4}, "test")
    slow = capacity(need, model, latency_target_s=5, gpu_memory_gib=24, fp16=True, max_batch=8, min_instances=0)
    assert not slow.feasible
    assert slow.misses_latency_only
    assert slow.latency_p95_s == pytest.approx(10.0)  # 20 s of audio x RTF 0.5 at one stream
    small = capacity(need, model, latency_target_s=60, gpu_memory_gib=4, fp16=True, max_batch=8, min_instances=0)
    assert not small.feasible
    assert not small.misses_latency_only
    ok = capacity(need, model, latency_target_s=60, gpu_memory_gib=24, fp16=True, max_batch=8, min_instances=0)
    assert ok.feasible
    assert not ok.misses_latency_only
    assert ok.concurrency == 2


def test_p95_chars_replaces_the_length_assumption() -> None:
    service = ServiceConfig()
    assumed = demand(WorkloadConfig(avg_chars=100), service, 9)
    assert assumed.p95_chars == 200
    assert "assumed 2x" in assumed.p95_basis
    measured = demand(WorkloadConfig(avg_chars=100, p95_chars=130), service, 9)
    assert measured.p95_chars == 130
    assert measured.audio_s_p95 == pytest.approx(130 / 4.5)  # zh: 4.5 characters per audio second (assumption)
    assert measured.p95_basis == "workload.p95_chars"


@pytest.mark.parametrize(
    ("workload", "service", "needle"),
    [
        ({"p95_chars": 300}, {"max_text_chars": 200}, "workload.p95_chars 300 exceeds service.max_text_chars 200"),
        ({"p95_chars": 0}, {}, "workload.p95_chars: Input should be greater than 0"),
        ({"p95_chars": -5}, {}, "workload.p95_chars"),
    ],
)
def test_p95_chars_config_errors_name_the_key(workload: dict[str, Any], service: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_environment("prod", {"workload": workload, "service": service})
    assert needle in str(info.value)


def test_p95_chars_in_cdk_json_and_what_if(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert parse_environment("prod", {"workload": {"p95_chars": 200}}).workload.p95_chars == 200
    base = run_json(capsys, "--env", "prod", "--instance-types", "g5.xlarge", "--purchase", "spot")
    what_if = run_json(
        capsys, "--env", "prod", "--instance-types", "g5.xlarge", "--purchase", "spot", "--p95-chars", "100"
    )
    assert what_if["p95_request"] == {"chars": 100.0, "audio_s": 22.22, "basis": "workload.p95_chars"}
    # Latency scales with the p95 request's audio length: half the characters, half the p95 synthesis time.
    ratio = what_if["options"][0]["latency_p95_s"] / base["options"][0]["latency_p95_s"]
    assert ratio == pytest.approx(0.5, abs=0.01)
    assert "100 characters = 22.2 s of audio (workload.p95_chars)" in what_if["recommendation"]["why"]

    cdk = json.loads(Path("cdk.json").read_text(encoding="utf-8"))
    cdk["context"]["environments"]["prod"]["workload"]["p95_chars"] = 100
    custom = tmp_path / "cdk.json"
    custom.write_text(json.dumps(cdk), encoding="utf-8")
    from_file = run_json(
        capsys, "--env", "prod", "--instance-types", "g5.xlarge", "--purchase", "spot", "--cdk-json", str(custom)
    )
    assert from_file["p95_request"] == what_if["p95_request"]
    assert from_file["options"][0]["latency_p95_s"] == what_if["options"][0]["latency_p95_s"]


@pytest.mark.parametrize(
    ("value", "needle"),
    [("300", "--p95-chars 300 exceeds service.max_text_chars 200"), ("0", "--p95-chars 0"), ("-1", "--p95-chars -1")],
)
def test_p95_chars_flag_bad_input(capsys: pytest.CaptureFixture[str], value: str, needle: str) -> None:
    assert main(["--env", "prod", "--p95-chars", value]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert needle in lines[0]
