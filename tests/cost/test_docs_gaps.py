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
                    gaps[(itype, region, side)] = entry.get("note", "")
    return gaps


def test_every_missing_price_is_documented_and_nothing_else() -> None:
    documented, gaps = _documented(), _catalog_gaps()
    assert gaps, "the snapshot has gaps; the table must list them"
    assert set(documented) == set(gaps)


def test_documented_reason_matches_the_catalog_note() -> None:
    # "not offered" only where the catalog says the snapshot does not offer the type there; else "not captured".
    gaps = _catalog_gaps()
    for key, why in _documented().items():
        region, note = key[1], gaps.get(key, "")
        offered_note = "not offered in" in note and region in note
        assert why == ("not offered" if offered_note else "not captured"), (key, why, note)
