"""Catalog provenance, the calibrated roofline, and measured profiles."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from cost import catalog
from cost.errors import CostInputError
from cost.profiles import load_profile, parse_profile
from cost.throughput import calibration_fit, pick, roofline

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


def test_calibration_reproduces_the_published_l20_points() -> None:
    l20 = roofline(catalog.gpu("L20"), fp16=True, tensorrt=True).rtf_by_concurrency
    for batch, published in ((1, 0.109), (4, 0.063), (16, 0.050)):
        assert l20[batch] == pytest.approx(published, rel=0.05)
    a, b = calibration_fit()
    assert a > 0
    assert b > 0


def test_roofline_orders_gpus_by_bandwidth_and_penalises_pytorch() -> None:
    a10g = roofline(catalog.gpu("A10G"), fp16=True).rtf_by_concurrency[1]
    l4 = roofline(catalog.gpu("L4"), fp16=True).rtf_by_concurrency[1]
    assert l4 > a10g  # L4 has half the A10G's memory bandwidth: batch-1 decode is slower
    trt = roofline(catalog.gpu("A10G"), fp16=True, tensorrt=True).rtf_by_concurrency[1]
    assert a10g == pytest.approx(trt * catalog.model_value("no_tensorrt_penalty"))
    assert roofline(catalog.gpu("A10G"), fp16=False).rtf_by_concurrency[1] > a10g


def _profile(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "schema": "voicefleet-profile/1",
        "device": "NVIDIA A10G",
        "gpu": "A10G",
        "engine": "cosyvoice3",
        "precision": "fp16",
        "rtf_by_concurrency": {"1": 0.12, "4": 0.06},
        "memory_peak_gib": 7.5,
        "date": "2026-11-20",
        "source": "benchmarks/calibrate.py",
    }
    raw.update(changes)
    return raw


def test_profile_overrides_the_estimate(tmp_path: Path) -> None:
    path = tmp_path / "a10g.json"
    path.write_text(json.dumps(_profile()), encoding="utf-8")
    model = pick("A10G", fp16=True, profiles=[load_profile(path)])
    assert model.rtf_by_concurrency == {1: 0.12, 4: 0.06}
    assert "measured profile a10g.json" in model.source
    assert "roofline" in pick("L4", fp16=True, profiles=[load_profile(path)]).source


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("schema", "v0"),
        ("device", ""),
        ("gpu", "H100"),
        ("engine", "tacotron"),
        ("precision", "int8"),
        ("rtf_by_concurrency", {}),
        ("rtf_by_concurrency", {"x": 0.1}),
        ("rtf_by_concurrency", {"1": -1}),
        ("memory_peak_gib", 0),
        ("date", "yesterday"),
        ("source", None),
    ],
)
def test_bad_profile_names_the_field(field: str, value: Any) -> None:
    with pytest.raises(CostInputError, match=f"field '{field}"):
        parse_profile(_profile(**{field: value}), "p.json")


def test_profile_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(CostInputError, match="not valid JSON"):
        load_profile(bad)
    with pytest.raises(CostInputError, match="cannot read"):
        load_profile(tmp_path / "missing.json")
