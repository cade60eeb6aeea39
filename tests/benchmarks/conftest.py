"""Benchmark CLI fixtures: the real service (create_app, espeak engine) under a real uvicorn on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.settings import Settings
from tests.service.conftest import LiveServer, live_server


@pytest.fixture(scope="module")
def espeak_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(engine="espeak", voices_dir=tmp_path_factory.mktemp("voices"), environment="test")
    with live_server(settings) as live:
        yield live


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "result.json"
