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
from cost.profiles import parse_profile

runner = CliRunner()


def test_calibrate_writes_a_profile_cost_estimate_accepts(out: Path) -> None:
    # 1, 2, 4 keep CI fast; the default sweep (1, 2, 4, 8, 16) is the same code path.
    args = ["calibrate", "--engine", "loadmodel", "--preset", "tiny", "--concurrency", "1,2,4", "--repeats", "1"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    raw = json.loads(out.read_text())
    profile = parse_profile(raw, str(out))  # the cost model's own parser
    assert raw["schema"] == "voicefleet-profile/1"
    assert set(raw["rtf_by_concurrency"]) == {"1", "2", "4"}
    assert all(v > 0 for v in profile.rtf_by_concurrency.values())
    assert (profile.engine, profile.precision, profile.gpu) == ("loadmodel", "fp32", None)
    assert profile.memory_peak_gib > 0
    assert "random weights" in profile.source
    assert "batched/unbatched throughput ratio" in result.output


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
