"""`tts-bench fuzz`: schemathesis against the real service's OpenAPI schema over real HTTP (bounded in CI)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks.cli import app
from benchmarks.common import BenchFailedError
from benchmarks.fuzz import run_fuzz
from service.engines.base import EngineError, SynthesisRequest, SynthesisResult
from service.engines.espeak import EspeakEngine
from tests.service.conftest import live_server, make_settings

runner = CliRunner()


def test_fuzz_on_a_local_keyed_service_finds_no_5xx_and_no_schema_violation(out: Path) -> None:
    """The real `tts-serve` (espeak, TTS_API_KEYS set) started by the command; every request sends the key."""
    result = runner.invoke(app, ["fuzz", "--requests", "150", "--seed", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "command:" in result.output
    assert "machine:" in result.output
    data = json.loads(out.read_text())
    assert data["requests"] >= 150
    assert data["server_errors_5xx"] == 0
    assert data["schema_violations"] == 0, data["examples"]
    assert data["no_response"] == 0
    assert data["unauthenticated_status"] == 401  # keys were enforced, and the fuzz got past them
    assert data["by_status_class"]["2xx"] > 0  # real synthesis happened, not only refusals
    assert data["by_status_class"]["4xx"] > 0
    assert sum(data["by_status_class"].values()) == data["requests"]
    assert any(op.startswith("POST /v1/audio/speech") for op in data["by_operation"])
    assert any(op.startswith("POST /v1/tts") for op in data["by_operation"])


class BrokenEngine(EspeakEngine):
    """espeak whose every synthesis fails: the service answers 500 engine_error, which the fuzz must catch."""

    def synthesize_batch(self, requests: Sequence[SynthesisRequest]) -> list[SynthesisResult]:
        raise EngineError("broken on purpose")


def test_fuzz_counts_5xx_and_undocumented_statuses_and_fails(tmp_path: Path) -> None:
    settings = make_settings(engine="espeak", voices_dir=tmp_path / "voices")
    out = tmp_path / "fuzz.json"
    with live_server(settings, engine=BrokenEngine()) as live, pytest.raises(BenchFailedError, match="FUZZ FAILED"):
        run_fuzz(live.url, requests=80, seed=1, api_key=None, timeout_s=30, out=out)
    data = json.loads(out.read_text())
    assert data["server_errors_5xx"] > 0
    assert data["failures_by_check"]["status_code_conformance"] > 0  # 500 is not in the schema
    assert data["schema_violations"] > 0
