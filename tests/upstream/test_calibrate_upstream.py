"""`tts-bench calibrate` on upstream's real CosyVoice3 code (tiny random checkpoint, CPU): calibrate -> service-time
profile -> the config's parser, end to end. CPU figures of a random tiny model: the pipeline, never GPU figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.calibrate import run_calibrate
from benchmarks.common import BenchError
from tests.upstream.conftest import ZERO_SHOT_TEXT, upstream_asset
from voicefleet_config.capacity import parse_profile


def test_calibrate_measures_upstream_cosyvoice3_streams(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the details file goes under benchmarks/results/ of the working directory
    out = tmp_path / "profile.json"
    run_calibrate(
        engine_name="cosyvoice3",
        preset="tiny",
        device="cpu",
        fp16=False,
        model_dir=tiny_dir,
        concurrencies=[1, 2],
        repeats=1,
        gpu_key=None,
        out=out,
        prompt_wav=upstream_asset("zero_shot_prompt.wav"),
        prompt_text=ZERO_SHOT_TEXT,
    )
    (entry,) = parse_profile(json.loads(out.read_text(encoding="utf-8")), str(out))
    assert (entry.basis, entry.gpu, entry.engine_option, entry.precision) == ("measured", None, "pytorch", "fp32")
    assert not entry.verified  # a CPU measurement of random weights
    assert [k for k, _, _ in entry.points] == [1, 2]
    assert all(first > 0 and rtf > 0 for _, first, rtf in entry.points)


def test_calibrate_needs_a_prompt_for_cosyvoice3(tiny_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="--prompt-wav is required"):
        run_calibrate(
            engine_name="cosyvoice3",
            preset="tiny",
            device="cpu",
            fp16=False,
            model_dir=tiny_dir,
            concurrencies=[1],
            repeats=1,
            gpu_key=None,
            out=tmp_path / "p.json",
        )
