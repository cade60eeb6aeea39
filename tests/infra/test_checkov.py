"""checkov's real runner on every synthesized template: no failed check; every skip is one of the acknowledgements in
infra/checkov_acks.py, with its reason; no acknowledgement left that matches nothing.

checkov lives in its own venv (`make install` -> .venv-checkov; its pins conflict with ours, see pyproject.toml);
VOICEFLEET_CHECKOV points at another checkov executable.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.checkov_acks import CHECKOV_ACKS, CHECKOV_METADATA_KEY
from tests.infra.conftest import Synth

REPO = Path(__file__).resolve().parents[2]
CHECKOV = Path(os.environ.get("VOICEFLEET_CHECKOV", REPO / ".venv-checkov" / "bin" / "checkov"))

pytestmark = pytest.mark.slow


def run_checkov(files: list[Path]) -> dict[str, Any]:
    """checkov's CLI on CloudFormation templates, offline (--skip-download), its JSON report parsed."""
    assert CHECKOV.is_file(), f"{CHECKOV} not found: run `make install` (it creates .venv-checkov)"
    args = [str(CHECKOV), "--framework", "cloudformation", "--skip-download", "--output", "json"]
    for file in files:
        args += ["--file", str(file)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode in (0, 1), done.stderr[-2000:]  # 1: failed checks, reported below
    report: dict[str, Any] = json.loads(done.stdout)
    assert report["check_type"] == "cloudformation"
    return report


@pytest.fixture(scope="module")
def report(synth: Synth) -> dict[str, Any]:
    return run_checkov(sorted(synth.outdir.glob("*.template.json")))


def _key(check: dict[str, Any]) -> tuple[str, str, str]:
    """(template file, logical id, check id)."""
    return Path(check["file_path"]).name, check["resource"].split(".", 1)[1], check["check_id"]


def test_every_template_is_scanned_whole(synth: Synth, report: dict[str, Any]) -> None:
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["resource_count"] == sum(len(t["Resources"]) for t in synth.raw.values())
    assert report["summary"]["passed"] > 100


def test_no_failed_checks(report: dict[str, Any]) -> None:
    failed = sorted(_key(c) for c in report["results"]["failed_checks"])
    assert failed == [], "\n".join(f"{check} on {resource} ({file})" for file, resource, check in failed)


def test_every_skip_is_an_acknowledgement_and_every_acknowledgement_is_used(
    synth: Synth, report: dict[str, Any]
) -> None:
    reasons = {ack.reason for ack in CHECKOV_ACKS}
    skipped = report["results"]["skipped_checks"]
    for check in skipped:
        assert check["check_result"]["suppress_comment"] in reasons, _key(check)
    written = {
        (f"{stack}.template.json", logical_id, skip["id"])
        for stack, template in ((f"VoiceFleet-{env}", raw) for env, raw in synth.raw.items())
        for logical_id, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get(CHECKOV_METADATA_KEY, {}).get("skip", [])
    }
    assert {_key(c) for c in skipped} == written  # a written skip checkov did not use is a stale acknowledgement


def test_every_acknowledgement_has_a_reason() -> None:
    for ack in CHECKOV_ACKS:
        assert ack.check.startswith("CKV")
        assert len(ack.reason) > 40, ack


def test_checkov_is_live_an_unacknowledged_http_listener_fails(tmp_path: Path) -> None:
    template = {
        "Resources": {
            "Listener": {
                "Type": "AWS::ElasticLoadBalancingV2::Listener",
                "Properties": {
                    "LoadBalancerArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/1",
                    "Port": 80,
                    "Protocol": "HTTP",
                    "DefaultActions": [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
                },
            }
        }
    }
    path = tmp_path / "probe.template.json"
    path.write_text(json.dumps(template), encoding="utf-8")
    failed = {c["check_id"] for c in run_checkov([path])["results"]["failed_checks"]}
    assert "CKV_AWS_2" in failed
