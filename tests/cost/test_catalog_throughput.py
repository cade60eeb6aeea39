"""Catalog provenance, the service-time prior fitted to the published points, and profile validation."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from cost import catalog
from cost.capacity import prior
from voicefleet_config.capacity import PRIOR_FILE, ProfileError, load_profile, parse_profile, service_time

REFERENCE = {
    "g4dn.xlarge": 0.526,
    "g5.xlarge": 1.006,
    "g5.2xlarge": 1.212,
    "g6.xlarge": 0.8048,
    "g6e.xlarge": 1.861,
    "p3.2xlarge": 3.06,
}


def test_known_types_unchanged_for_the_config_model() -> None:
    assert catalog.known_instance_types() == (
        "g4dn.2xlarge",
        "g4dn.xlarge",
        "g5.2xlarge",
        "g5.xlarge",
        "g6.2xlarge",
        "g6.xlarge",
        "g6e.xlarge",
        "p3.2xlarge",
    )


@pytest.mark.parametrize(("itype", "price"), REFERENCE.items())
def test_us_east_1_reference_prices(itype: str, price: float) -> None:
    assert catalog.instance(itype).on_demand["us-east-1"].usd_per_hour == price


def test_every_figure_has_source_and_date() -> None:
    for itype in catalog.known_instance_types():
        inst = catalog.instance(itype)
        for price in [*inst.on_demand.values(), *inst.spot.values()]:
            assert price.source
            dt.date.fromisoformat(price.as_of)
            assert price.usd_per_hour > 0
        assert catalog.gpu(inst.gpu).source
    for key, entry in catalog.services_file()["services"].items():
        assert entry.get("source"), key
        assert entry.get("as_of"), key
    for key, entry in catalog.model_file().items():
        if isinstance(entry, dict):
            assert "source" in entry, key
            assert "verified" in entry, key


def test_snapshot_covers_five_regions() -> None:
    assert set(catalog.known_regions()) >= {"us-east-1", "us-west-2", "ap-northeast-1", "ap-southeast-1", "eu-west-1"}
    assert "ap-southeast-1" in catalog.instance("g4dn.xlarge").on_demand


def test_the_shipped_prior_is_the_fit() -> None:
    """voicefleet_config/data/service_time.json is exactly what `python -m cost.capacity.prior --write` writes."""
    assert PRIOR_FILE.read_text(encoding="utf-8") == prior.render()


def test_the_fit_uses_every_published_point() -> None:
    """Regression (issue 14): 3 of the 5 L20 points were used. The LLM fit now uses all five batch sizes and
    reproduces each llm_time within 20 % (least squares on 1/b: the small batch-16 time is the loosest), and the
    HF / TRT-LLM ratio is upstream's (39.26 / 12.46)."""
    terms = prior.l20_terms()
    rows = prior.published()["cosyvoice3_trtllm_offline"]["rows"]
    assert len(rows) == 5
    for batch, llm_time, *_ in rows:
        fitted = (terms["llm_trt_a"] / batch + terms["llm_trt_c"]) * terms["audio_s"]
        assert fitted == pytest.approx(llm_time, rel=0.2), batch
    assert terms["hf_over_trtllm"] == pytest.approx(39.26 / 12.46)
    assert terms["audio_s"] == pytest.approx(177.4, abs=1.0)


def test_eager_decode_is_not_scaled_by_bandwidth() -> None:
    """Regression (issue 14): launch-bound eager decode scaled by memory bandwidth gave L40S a paper 3x lead."""
    l40s, a10g, l4 = (service_time(g).rtf(1) for g in ("L40S", "A10G", "L4"))
    assert a10g / l40s < 1.5
    assert l4 < a10g * 1.2  # L4's half bandwidth does not slow an eager, launch-bound decode
    # vLLM batches the LLM: there bandwidth matters, and streams in flight help.
    vllm = service_time("A10G", engine_option="vllm")
    assert vllm.rtf(4) / 4 < vllm.rtf(1)


def test_streams_share_the_gpu_without_batching() -> None:
    a10g = service_time("A10G")
    assert a10g.rtf(2) == pytest.approx(2 * a10g.rtf(1), rel=1e-3)
    assert a10g.first_chunk_s(2) > a10g.first_chunk_s(1)
    assert a10g.streams(ttfa_s=2.0, rtf_max=1.0) == 2  # 3 streams: per-stream RTF above 1
    assert a10g.streams(ttfa_s=0.5, rtf_max=1.0) == 0  # the first chunk alone takes longer


def _profile(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "gpu": "A10G",
        "engine_option": "pytorch",
        "precision": "fp16",
        "basis": "measured",
        "device": "NVIDIA A10G",
        "date": "2026-11-20",
        "source": "benchmarks/calibrate.py",
        "points": {"1": {"first_chunk_s": 0.9, "rtf": 0.3}, "4": {"first_chunk_s": 1.5, "rtf": 0.9}},
    }
    entry.update(changes)
    return {"schema": "voicefleet-service-time/1", "entries": [entry]}


def test_profile_interpolates_between_points() -> None:
    (entry,) = parse_profile(_profile(), "p.json")
    assert entry.rtf(2) == pytest.approx(0.5)
    assert entry.first_chunk_s(4) == pytest.approx(1.5)
    assert entry.streams(ttfa_s=2.0, rtf_max=1.0) == 4


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("gpu", "H100"),
        ("engine_option", "onnx"),
        ("precision", "int8"),
        ("basis", "guess"),
        ("date", "yesterday"),
        ("points", {}),
        ("points", {"0": {"first_chunk_s": 1, "rtf": 1}}),
        ("points", {"1": {"first_chunk_s": -1, "rtf": 1}}),
        ("points", {"1": {"first_chunk_s": 1, "rtf": float("inf")}}),
        ("source", ""),
    ],
)
def test_bad_profile_names_the_field(field: str, value: Any) -> None:
    with pytest.raises(ProfileError, match=f"entries\\[0\\].{field}"):
        parse_profile(_profile(**{field: value}), "p.json")


def test_profile_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(ProfileError, match="not valid JSON"):
        load_profile(bad)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"schema": "voicefleet-profile/1"}), encoding="utf-8")
    with pytest.raises(ProfileError, match="field 'schema'"):
        load_profile(wrong)
