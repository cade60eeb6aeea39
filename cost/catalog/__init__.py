"""Price and hardware catalog: data files + loader + pure query functions."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parent / "data"


@cache
def _instances_file() -> dict[str, Any]:
    with (DATA_DIR / "instances.json").open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def known_instance_types() -> tuple[str, ...]:
    """Instance types the catalog knows, sorted; the config model accepts exactly these."""
    return tuple(sorted(_instances_file()["instances"]))
