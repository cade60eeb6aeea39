"""docs/cost.md lists every instance type x region without an on-demand or Spot price, with the right reason."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cost import catalog

DOC = Path(__file__).resolve().parents[2] / "docs" / "cost.md"
_ROW = re.compile(r"^\| (\S+) \| (\S+) \| ([^|]+) \| ([^|]+) \|$")
_SIDES = {"on-demand": "on_demand", "Spot": "spot"}


def _documented() -> dict[tuple[str, str, str], str]:
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("<!-- gaps:start") : text.index("<!-- gaps:end -->")]
    rows: dict[tuple[str, str, str], str] = {}
    for line in table.splitlines():
        match = _ROW.match(line)
        if not match or match[1] in ("instance", "---"):
            continue
        itype, region, missing, why = (group.strip() for group in match.groups())
        for side in missing.split(", "):
            rows[(itype, region, _SIDES[side])] = why
    return rows


def _catalog_gaps() -> dict[tuple[str, str, str], str]:
    raw = json.loads((Path(catalog.__file__).parent / "data" / "instances.json").read_text(encoding="utf-8"))
    gaps: dict[tuple[str, str, str], str] = {}
    for itype in catalog.known_instance_types():
        entry = raw["instances"][itype]
        for region in catalog.known_regions():
            for side in ("on_demand", "spot"):
                if region not in entry[side]:
                    gaps[(itype, region, side)] = (
                        "not offered" if region in entry.get("not_offered", ()) else "not captured"
                    )
    return gaps


def test_every_missing_price_is_documented_and_nothing_else() -> None:
    documented, gaps = _documented(), _catalog_gaps()
    assert gaps, "the snapshot has gaps; the table must list them"
    assert set(documented) == set(gaps)


def test_documented_reason_matches_the_catalog() -> None:
    # "not offered" only where the catalog's not_offered lists the region; else "not captured".
    gaps = _catalog_gaps()
    for key, why in _documented().items():
        assert why == gaps[key], (key, why, gaps[key])


def test_g6e_gaps_regression_issue_14() -> None:
    """g6e.xlarge: us-east-1 Spot and Tokyo on-demand are in the snapshot; Singapore and Ireland are not offered."""
    g6e = catalog.instance("g6e.xlarge")
    assert g6e.spot["us-east-1"].usd_per_hour == 0.8171  # median of 0.7945 / 0.7870 / 0.8396 / 1.2079
    assert g6e.spot["us-west-2"].usd_per_hour == 0.829  # usw2-az1 0.8123 included
    assert g6e.on_demand["ap-northeast-1"].usd_per_hour == 2.699
    assert g6e.missing == {"ap-southeast-1": "not offered", "eu-west-1": "not offered"}
