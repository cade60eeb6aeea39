"""cfn-lint on every synthesized template (zero errors), and one snapshot per environment with hashes masked."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint
from syrupy.assertion import SnapshotAssertion

from tests.infra.conftest import Synth

_HASH = re.compile(r"[0-9a-f]{64}")
# Image Builder component/recipe versions derive from what they hold, the source bundle included (components.py
# version_of): like asset hashes they move with any code edit.
_IMAGE_VERSION = re.compile(r"\b1\.0\.\d+\b")


@pytest.mark.parametrize("env", ["dev", "prod", "edge", "front", "image-us-east-1", "image-eu-west-1"])
def test_cfn_lint_has_no_errors(synth: Synth, env: str) -> None:
    region = "eu-west-1" if env in ("edge", "image-eu-west-1") else "us-east-1"
    matches = lint(json.dumps(synth.raw[env]), config=ManualArgs(regions=[region]))
    errors = [str(m) for m in matches if m.rule.id.startswith("E")]
    assert errors == []


def _masked(template: dict[str, Any]) -> Any:
    """Asset hashes (and the S3 keys built from them) and image versions change with any code edit; mask them."""
    text = _HASH.sub("<hash>", json.dumps(template, sort_keys=True))
    return json.loads(_IMAGE_VERSION.sub("<version>", text))


@pytest.mark.parametrize("env", ["dev", "prod", "image-us-east-1"])
def test_snapshot(synth: Synth, env: str, snapshot: SnapshotAssertion) -> None:
    assert _masked(synth.raw[env]) == snapshot
