"""`tts-bench calibrate` (in-process load model, tiny preset on CPU) and the roofline check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks.calibrate import catalog_gpu_key
from benchmarks.cli import app
from benchmarks.common import BenchError
from benchmarks.roofline_check import published_stage_rtf, run_roofline
from cost.cli import main as cost_estimate
from voicefleet_config.capacity import parse_profile

runner = CliRunner()


def test_calibrate_writes_a_service_time_profile_the_config_reads(out: Path) -> None:
    """calibrate -> profile -> model, end to end on the CPU (tiny random load model: the pipeline, not GPU figures)."""
    # 1, 2, 4 keep CI fast; the default sweep (1, 2, 4, 8, 16) is the same code path.
    args = ["calibrate", "--engine", "loadmodel", "--preset", "tiny", "--concurrency", "1,2,4", "--repeats", "1"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    raw = json.loads(out.read_text())
    assert raw["schema"] == "voicefleet-service-time/1"
    (entry,) = parse_profile(raw, str(out))  # the config's own parser
    assert [k for k, _, _ in entry.points] == [1, 2, 4]
    assert all(fc > 0 and rtf > 0 for _, fc, rtf in entry.points)
    assert (entry.basis, entry.engine_option, entry.precision, entry.gpu) == ("measured", "pytorch", "fp32", None)
    assert not entry.verified
    assert "random weights" in entry.source
    assert "aggregate throughput ratio" in result.output


def test_a_measured_profile_drives_the_estimate(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A measured entry (here relabelled as an A10G one) replaces the prior in cost-estimate's sizing."""
    raw = {
        "schema": "voicefleet-service-time/1",
        "entries": [
            {
                "gpu": "A10G",
                "engine_option": "pytorch",
                "precision": "fp16",
                "basis": "measured",
                "device": "test",
                "date": "2026-12-01",
                "source": "test figures",
                "points": {"1": {"first_chunk_s": 0.3, "rtf": 0.1}, "8": {"first_chunk_s": 0.6, "rtf": 0.5}},
            }
        ],
    }
    out.write_text(json.dumps(raw))
    args = ["--env", "prod", "--format", "json", "--instance-types", "g5.xlarge", "--purchase", "on-demand"]
    assert cost_estimate([*args, "--profile", str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    option = next(o for o in data["options"] if o["instance_type"] == "g5.xlarge" and o["source"] == "catalog")
    assert option["throughput_source"].startswith("measured: A10G pytorch fp16")
    assert option["concurrency_per_gpu"] > 2  # the prior allows 2 on an A10G


def test_calibrate_refuses_bad_engine(out: Path) -> None:
    result = runner.invoke(app, ["calibrate", "--engine", "vits", "--out", str(out)])
    assert isinstance(result.exception, BenchError)
    assert "--engine" in str(result.exception)
    assert not out.exists()


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("NVIDIA A10G", "A10G"),
        ("NVIDIA L4", "L4"),
        ("NVIDIA L40S", "L40S"),
        ("Tesla T4", "T4"),
        ("NVIDIA H100 80GB HBM3", None),
    ],
)
def test_device_name_maps_to_catalog_gpu(name: str, key: str | None) -> None:
    assert catalog_gpu_key(name) == key


def test_published_figures_are_consistent() -> None:
    pub = published_stage_rtf()
    assert pub["audio_s"] == pytest.approx(178.6, abs=0.1)
    assert pub["llm"] + pub["token2wav"] == pytest.approx(pub["total"], rel=0.05)  # rest is pipeline overhead


def test_roofline_runs_on_cpu_with_tiny_preset(tmp_path: Path) -> None:
    doc = run_roofline(preset="tiny", device="cpu", fp16=False, text="你好，世界。", out=tmp_path / "r.json")
    here, l20 = doc["here"], doc["l20"]
    assert doc["tokens"] > 0
    assert here["decode_bytes_per_token"] > 0
    assert here["token2wav_gflop_per_audio_s"] > 0
    assert 0 < l20["ideal"]["rtf_total"] <= l20["scaled"]["rtf_total"]
    assert doc["published"]["total"] == pytest.approx(0.1091)
    assert json.loads((tmp_path / "r.json").read_text())["kind"] == "roofline"
