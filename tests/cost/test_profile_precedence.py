"""Which throughput wins: explicit --profile, bundled cosyvoice3, bundled loadmodel, roofline; loadmodel labelling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cost import profiles
from cost.cli import main
from cost.profiles import Profile, parse_profile
from cost.throughput import pick

LOADMODEL_LABEL = "measured loadmodel profile (CosyVoice3 shapes, random weights) on NVIDIA A10G"


def raw_profile(engine: str, rtf1: float, **changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "schema": "voicefleet-profile/1",
        "device": "NVIDIA A10G",
        "gpu": "A10G",
        "engine": engine,
        "precision": "fp16",
        "rtf_by_concurrency": {"1": rtf1, "4": rtf1 / 2},
        "memory_peak_gib": 6.0,
        "date": "2026-11-20",
        "source": "test",
    }
    raw.update(changes)
    return raw


def profile(engine: str, rtf1: float, **changes: Any) -> Profile:
    return parse_profile(raw_profile(engine, rtf1, **changes), f"{engine}-{rtf1}.json")


def write(path: Path, engine: str, rtf1: float, **changes: Any) -> Path:
    path.write_text(json.dumps(raw_profile(engine, rtf1, **changes)), encoding="utf-8")
    return path


def test_precedence_in_pick() -> None:
    real, proxy = profile("cosyvoice3", 0.2), profile("loadmodel", 0.3)
    explicit_proxy = profile("loadmodel", 0.4)
    assert pick("A10G", fp16=True, profiles=[], bundled=[proxy, real]).rtf_by_concurrency[1] == 0.2
    assert pick("A10G", fp16=True, profiles=[], bundled=[proxy]).rtf_by_concurrency[1] == 0.3
    assert pick("A10G", fp16=True, profiles=[explicit_proxy], bundled=[real]).rtf_by_concurrency[1] == 0.4
    assert pick("A10G", fp16=True, profiles=[profile("espeak", 0.01)], bundled=[]).source.startswith("roofline")
    # Another precision or GPU never matches.
    assert pick("A10G", fp16=False, profiles=[], bundled=[real, proxy]).source.startswith("roofline")
    assert pick("L4", fp16=True, profiles=[explicit_proxy], bundled=[real]).source.startswith("roofline")
    assert proxy.label().startswith(LOADMODEL_LABEL)
    assert not real.label().startswith("measured loadmodel")


def g5_sources(data: dict[str, Any]) -> set[str]:
    return {o["throughput_source"] for o in data["options"] if o["gpu"] == "A10G"}


def test_explicit_loadmodel_profile_is_used_labelled_and_warned(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path / "a10g-loadmodel.json", "loadmodel", 0.1)
    assert main(["--format", "json", "--profile", str(path)]) == 0  # both environments: one warning only
    captured = capsys.readouterr()
    data = json.loads(captured.out)["environments"]["prod"]
    (source,) = g5_sources(data)
    assert source.startswith(LOADMODEL_LABEL)
    warnings = captured.err.strip().splitlines()
    assert len(warnings) == 1
    assert warnings[0].startswith("warning: --profile a10g-loadmodel.json is a loadmodel profile")
    # The measured RTF is what prices the option: 4 streams x 44.4 s of audio x RTF 0.05 = 8.9 s (<= 10 s target).
    g5 = next(o for o in data["options"] if o["instance_type"] == "g5.xlarge")
    assert g5["feasible"]
    assert g5["concurrency_per_gpu"] == 4
    assert g5["latency_p95_s"] == pytest.approx(4 * 44.44 * 0.05, abs=0.01)


def test_explicit_espeak_profile_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path / "cpu.json", "espeak", 0.01, gpu=None, device="AMD EPYC")
    assert main(["--env", "dev", "--profile", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "field 'engine': 'espeak'" in err[0]


def test_bundled_profiles_precedence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(profiles, "PROFILES_DIR", tmp_path)
    write(tmp_path / "a-loadmodel.json", "loadmodel", 0.1)
    assert main(["--env", "prod", "--format", "json"]) == 0
    captured = capsys.readouterr()
    (source,) = g5_sources(json.loads(captured.out))
    assert source.startswith(LOADMODEL_LABEL)  # no real profile for A10G: the proxy beats the roofline
    assert captured.err == ""  # found automatically: labelled, no warning

    write(tmp_path / "b-cosyvoice3.json", "cosyvoice3", 0.2)
    assert main(["--env", "prod", "--format", "json"]) == 0
    (source,) = g5_sources(json.loads(capsys.readouterr().out))
    assert source.startswith("measured profile b-cosyvoice3.json")  # the real model wins, whatever the file order

    explicit = write(tmp_path.parent / "explicit-loadmodel.json", "loadmodel", 0.15)
    assert main(["--env", "prod", "--format", "json", "--profile", str(explicit)]) == 0
    (source,) = g5_sources(json.loads(capsys.readouterr().out))
    assert "explicit-loadmodel.json" in source  # asked for explicitly: used over the bundled real profile
