"""The API-key and admin-key secrets outlive a replacing stack update or a stack delete, except when disposable."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk.assertions import Template


def _key_secrets(template: Template) -> dict[str, Mapping[str, Any]]:
    """Fleet's two key secrets by their variable, found by description (logical ids carry a hash)."""
    found = template.find_resources("AWS::SecretsManager::Secret")
    by_variable: dict[str, Mapping[str, Any]] = {}
    for resource in found.values():
        description = str(resource["Properties"]["Description"])
        for variable in ("TTS_API_KEYS", "TTS_ADMIN_KEY"):
            if f"({variable})" in description:
                by_variable[variable] = resource
    assert sorted(by_variable) == ["TTS_ADMIN_KEY", "TTS_API_KEYS"], [r["Properties"] for r in found.values()]
    return by_variable


@pytest.mark.parametrize(("env", "policy"), [("prod", "Retain"), ("dev", "Delete"), ("edge", "Delete")])
def test_key_secrets_are_retained_unless_disposable(
    env: str, policy: str, prod: Template, dev: Template, edge: Template
) -> None:
    """prod (disposable: false) keeps its keys: a replaced or deleted secret would lock every client out."""
    template = {"prod": prod, "dev": dev, "edge": edge}[env]
    for variable, secret in _key_secrets(template).items():
        assert (secret.get("DeletionPolicy"), secret.get("UpdateReplacePolicy")) == (policy, policy), variable
