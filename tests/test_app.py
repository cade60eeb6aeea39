"""`python app.py` is the synth entry point: a template per environment, and a clear error for an unknown one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The date the calendar-coverage check takes as today (see tests/synth.py): these tests are about templates.
CALENDAR_TODAY = "2026-12-01"


def _run_app(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDK_")}
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    return subprocess.run(
        [sys.executable, str(REPO / "app.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_python_app_writes_one_template_per_environment(tmp_path: Path) -> None:
    result = _run_app(tmp_path, "-c", f"calendar_today={CALENDAR_TODAY}")
    assert result.returncode == 0, result.stderr[-3000:]
    for env in ("dev", "prod"):
        template = json.loads((tmp_path / "cdk.out" / f"VoiceFleet-{env}.template.json").read_text())
        assert template["Resources"], f"VoiceFleet-{env} has no resources"


@pytest.mark.slow
def test_context_env_limits_synthesis_to_one_environment(tmp_path: Path) -> None:
    result = _run_app(tmp_path, "-c", "env=dev", "-c", f"calendar_today={CALENDAR_TODAY}")
    assert result.returncode == 0, result.stderr[-3000:]
    written = sorted(p.name for p in (tmp_path / "cdk.out").glob("*.template.json"))
    # dev, and the runtime image stack of dev's region, which its launch template resolves the AMI from.
    assert written == ["VoiceFleet-dev.template.json", "VoiceFleet-image-us-east-1.template.json"]


def test_unknown_environment_fails_naming_the_known_ones(tmp_path: Path) -> None:
    result = _run_app(tmp_path, "-c", "env=nope")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "error: unknown environment 'nope' (known: dev, prod)"
    assert not (tmp_path / "cdk.out").exists()


def test_malformed_context_argument_is_one_line(tmp_path: Path) -> None:
    result = _run_app(tmp_path, "-c", "env")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "error: context 'env' is not key=value (e.g. -c env=prod)"


def test_a_calendar_that_does_not_cover_this_year_fails_the_synth(tmp_path: Path) -> None:
    """Issue 15 case 2: prod's calendar covers 2026 only; on 2027-01-02 the synth refuses, naming env and key."""
    result = _run_app(tmp_path, "-c", "env=prod", "-c", "calendar_today=2027-01-02")
    assert result.returncode == 2
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: environment 'prod': schedule.calendar.years: the calendar covers 2026, not the ")
    assert "-c allow_uncovered_calendar=true" in line
    assert not (tmp_path / "cdk.out").exists()


@pytest.mark.slow
def test_the_flag_lets_an_uncovered_calendar_synthesize(tmp_path: Path) -> None:
    args = ("-c", "env=prod", "-c", "calendar_today=2027-01-02", "-c", "allow_uncovered_calendar=true")
    result = _run_app(tmp_path, *args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "cdk.out" / "VoiceFleet-prod.template.json").exists()
