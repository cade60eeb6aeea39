"""Per-environment Template fixtures over the session's one synthesis (the `synth` fixture in tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.synth import FRONT, FRONT_CONFIG, VARIANT, VARIANT_CONFIG, Synth

__all__ = ["FRONT", "FRONT_CONFIG", "VARIANT", "VARIANT_CONFIG", "Synth", "only"]


@pytest.fixture(scope="session")
def prod(synth: Synth) -> Template:
    return synth.template("prod")


@pytest.fixture(scope="session")
def dev(synth: Synth) -> Template:
    return synth.template("dev")


@pytest.fixture(scope="session")
def edge(synth: Synth) -> Template:
    return synth.template(VARIANT)


@pytest.fixture(scope="session")
def front(synth: Synth) -> Template:
    return synth.template(FRONT)


def only(template: Template, resource_type: str) -> dict[str, Any]:
    """The one resource of a type (its Properties), without naming its hashed logical id."""
    found = template.find_resources(resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    resource: dict[str, Any] = dict(next(iter(dict(found).values())))
    return resource
