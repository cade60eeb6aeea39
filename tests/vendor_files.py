"""Upstream files the tests run against, read from ../shared/vendor at test time (never copied into this repo).

Each is checked against the SHA-256 that ../shared/vendor/README.md records, so a test never validates against a
file that drifted from the pinned upstream commit.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT.parent / "shared" / "vendor"
# translator/config/schema.json of aws/amazon-cloudwatch-agent at ab55b8da (../shared/vendor/README.md).
CWAGENT_SCHEMA = VENDOR / "amazon-cloudwatch-agent-schema.json"
CWAGENT_SCHEMA_SHA256 = "2823cf4a6de048e0398f6a2a21a08079f5a3910c9698ccda86c443ad8e208469"


class VendoredFileMissingError(FileNotFoundError):
    """A vendored upstream file is absent or not the pinned one."""


def _checked(path: Path, sha256: str) -> bytes:
    if not path.is_file():
        raise VendoredFileMissingError(
            f"{path} is missing: the tests read it from ../shared/vendor next to the repository"
        )
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise VendoredFileMissingError(f"{path} has SHA-256 {actual}, expected {sha256} (../shared/vendor/README.md)")
    return data


def cloudwatch_agent_schema() -> dict[str, Any]:
    """The CloudWatch agent's own JSON schema (draft-04) for its configuration file."""
    schema: dict[str, Any] = json.loads(_checked(CWAGENT_SCHEMA, CWAGENT_SCHEMA_SHA256))
    return schema


def cloudwatch_agent_errors(config: dict[str, Any]) -> list[str]:
    """Every violation of the agent's schema in `config` ("path: message"), as its translator would find them."""
    from jsonschema import Draft4Validator

    validator = Draft4Validator(cloudwatch_agent_schema())
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    ]
