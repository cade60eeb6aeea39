"""Price and hardware catalog: data files + loader + pure query functions.

The data is a dated snapshot (every figure carries `source` and `as_of`); `cost.live` can overlay fresher EC2 prices
and the Spot Instance Advisor's interruption buckets, and `cost.catalog.refresh` rewrites the snapshot from them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from voicefleet_config import INSTANCE_TYPES

DATA_DIR = Path(__file__).parent / "data"


def _load(name: str) -> dict[str, Any]:
    with (DATA_DIR / name).open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@cache
def _instances_file() -> dict[str, Any]:
    return _load("instances.json")


@cache
def gpus_file() -> dict[str, Any]:
    return _load("gpus.json")


@cache
def services_file() -> dict[str, Any]:
    return _load("services.json")


@cache
def model_file() -> dict[str, Any]:
    return _load("model.json")


def known_instance_types() -> tuple[str, ...]:
    """The instance types priced: voicefleet_config's list, which the config accepts (the data has an entry for each:
    tests/cost/test_catalog_refresh.py; `cost-catalog-refresh` refreshes exactly these)."""
    return INSTANCE_TYPES


def known_regions() -> tuple[str, ...]:
    """Regions the snapshot covers."""
    return tuple(_instances_file()["regions"])


def snapshot_meta() -> tuple[str, str]:
    """(source, as_of) of the instance price snapshot."""
    data = _instances_file()
    return str(data["source"]), str(data["as_of"])


@dataclass(frozen=True)
class Price:
    usd_per_hour: float
    source: str
    as_of: str
    verified: bool


@dataclass(frozen=True)
class Interruption:
    """Spot interruption-frequency bucket of one instance type in one region (a Spot Instance Advisor label)."""

    bucket: str
    source: str
    as_of: str
    verified: bool
    savings_pct: float | None = None  # the advisor's published saving against on-demand: a cross-check only
    measured: bool = True  # False only for the default assumption


@dataclass(frozen=True)
class Gpu:
    name: str
    memory_gib: float
    fp16_tensor_tflops: float
    fp32_tflops: float
    memory_bandwidth_gbs: float
    bf16: bool
    fp8: bool
    source: str
    verified: bool


@dataclass(frozen=True)
class Instance:
    name: str
    gpu: str
    gpu_count: int
    vcpu: int
    ram_gib: float
    gpu_memory_gib: float
    on_demand: dict[str, Price]
    spot: dict[str, Price]
    note: str | None
    interruption: dict[str, Interruption]  # region -> bucket; absent: the default assumption applies
    not_offered: tuple[str, ...] = ()  # regions the snapshot has no row for (AWS did not sell the type there)

    @property
    def missing(self) -> dict[str, str]:
        """Why a price is absent, by region: "not offered" where the snapshot has no row for the type; any other
        absent figure is "not captured" (callers default to that)."""
        return dict.fromkeys(self.not_offered, "not offered")


def _price(raw: dict[str, Any]) -> Price:
    return Price(float(raw["usd_per_hour"]), str(raw["source"]), str(raw["as_of"]), bool(raw.get("verified", False)))


def interruption_buckets() -> dict[str, float]:
    """Spot Instance Advisor bucket label -> on-demand fallback share assumed for it (the bucket's midpoint)."""
    return {str(k): float(v) for k, v in model_file()["spot"]["interruption_buckets"].items()}


DEFAULT_INTERRUPTION_SOURCE = (
    "default assumption (model.json spot.default_bucket), not measured: no Spot Instance Advisor figure for the "
    "type in this region (catalog or --live)"
)


def default_interruption() -> Interruption:
    """The bucket every type falls back to when no figure is known; never presented as measured."""
    return Interruption(
        bucket=str(model_file()["spot"]["default_bucket"]),
        source=DEFAULT_INTERRUPTION_SOURCE,
        as_of="",
        verified=False,
        measured=False,
    )


def _interruption(raw: dict[str, Any], where: str) -> Interruption:
    bucket = raw.get("bucket")
    if bucket not in interruption_buckets():
        raise ValueError(f"{where}.bucket: {bucket!r} is not one of {', '.join(interruption_buckets())}")
    for key in ("source", "as_of"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ValueError(f"{where}.{key}: required (where the bucket comes from and when)")
    savings = raw.get("savings_pct")
    return Interruption(
        bucket=str(bucket),
        source=str(raw["source"]),
        as_of=str(raw["as_of"]),
        verified=bool(raw.get("verified", False)),
        savings_pct=None if savings is None else float(savings),
    )


def parse_instance(name: str, raw: dict[str, Any]) -> Instance:
    """One `instances.json` entry; ValueError naming the key for a bad interruption bucket."""
    return Instance(
        name=name,
        gpu=str(raw["gpu"]),
        gpu_count=int(raw["gpu_count"]),
        vcpu=int(raw["vcpu"]),
        ram_gib=float(raw["ram_gib"]),
        gpu_memory_gib=round(float(raw["gpu_memory_mib"]) / 1024, 2),
        on_demand={region: _price(p) for region, p in raw["on_demand"].items()},
        spot={region: _price(p) for region, p in raw["spot"].items()},
        note=raw.get("note"),
        interruption={
            region: _interruption(entry, f"instances.{name}.interruption.{region}")
            for region, entry in raw.get("interruption", {}).items()
        },
        not_offered=tuple(raw.get("not_offered", ())),
    )


@cache
def instance(name: str) -> Instance:
    """One instance type's specs and prices; KeyError for unknown names (validate with known_instance_types())."""
    return parse_instance(name, _instances_file()["instances"][name])


@cache
def gpu(name: str) -> Gpu:
    raw = gpus_file()["gpus"][name]
    return Gpu(
        name=name,
        memory_gib=float(raw["memory_gib"]),
        fp16_tensor_tflops=float(raw["fp16_tensor_tflops"]),
        fp32_tflops=float(raw["fp32_tflops"]),
        memory_bandwidth_gbs=float(raw["memory_bandwidth_gbs"]),
        bf16=bool(raw["bf16"]),
        fp8=bool(raw["fp8"]),
        source=str(raw["source"]),
        verified=bool(raw["verified"]),
    )


def service_price(key: str) -> float:
    """A non-EC2 price (`services.json` key), e.g. 's3_standard_gb_month'."""
    return float(services_file()["services"][key]["value"])


def model_value(key: str) -> Any:
    """A CosyVoice3 pipeline figure or assumption from model.json (the `value` field when present)."""
    raw = model_file()[key]
    return raw["value"] if isinstance(raw, dict) and "value" in raw else raw
