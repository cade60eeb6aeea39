"""The shared moto fixture speaks real HTTP and resets between tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def test_moto_server_is_real_http_and_isolated(aws_client: Callable[..., Any], moto_endpoint: str) -> None:
    assert moto_endpoint.startswith("http://127.0.0.1:")
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="voicefleet-fixture-check")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["voicefleet-fixture-check"]


def test_moto_state_was_reset(aws_client: Callable[..., Any]) -> None:
    assert aws_client("s3").list_buckets()["Buckets"] == []
