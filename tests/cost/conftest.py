"""cost tests never reach the real Spot Instance Advisor URL nor write to the user's price cache."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (a port just released by the OS)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/spot-advisor-data.json"


@pytest.fixture(autouse=True)
def offline_live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEFLEET_SPOT_ADVISOR_URL", closed_port_url())
    monkeypatch.setenv("VOICEFLEET_CACHE_DIR", str(tmp_path / "price-cache"))
