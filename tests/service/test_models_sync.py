"""voicefleet-models push/pull against moto on loopback: multipart, checksums, skip unchanged, resume, verify."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from typer.testing import CliRunner

from service.models_sync import SyncError, pull, push
from service.models_sync.cli import app
from service.models_sync.manifest import MANIFEST_NAME, PARTIAL_DIR, safe_relpath

BUCKET = "voicefleet-models-test"
PREFIX = "cosyvoice3/"
MB = 1024 * 1024
# S3's minimum part is 5 MiB: an 11 MiB file becomes 3 parts.
SMALL_PARTS = TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB, max_concurrency=2)


@pytest.fixture
def s3(aws_client: Callable[..., Any]) -> Any:
    client = aws_client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    root = tmp_path / "model"
    (root / "CosyVoice-BlankEN").mkdir(parents=True)
    (root / "cosyvoice3.yaml").write_text("sample_rate: 24000\n")
    (root / "CosyVoice-BlankEN" / "config.json").write_text('{"vocab": 1}')
    (root / "llm.pt").write_bytes(os.urandom(11 * MB))
    return root


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_push_is_multipart_with_checksums_and_pull_reproduces_the_directory(
    s3: Any, model_dir: Path, tmp_path: Path
) -> None:
    report = push(s3, BUCKET, PREFIX, model_dir, transfer=SMALL_PARTS)
    assert sorted(report.transferred) == ["CosyVoice-BlankEN/config.json", "cosyvoice3.yaml", "llm.pt"]
    head = s3.head_object(Bucket=BUCKET, Key=PREFIX + "llm.pt")
    assert head["ETag"].strip('"').endswith("-3")  # a 3-part multipart upload
    assert head["Metadata"]["sha256"] == sha(model_dir / "llm.pt")
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=PREFIX + MANIFEST_NAME)["Body"].read())
    assert {f["path"] for f in manifest["files"]} == set(report.transferred)

    target = tmp_path / "pulled"
    pulled = pull(s3, BUCKET, PREFIX, target)
    assert sorted(pulled.transferred) == sorted(report.transferred)
    for rel in report.transferred:
        assert sha(target / rel) == sha(model_dir / rel)
    assert not (target / PARTIAL_DIR).exists()
    # The manifest last: a complete, verified copy (what a baked image's boot checks for).
    assert json.loads((target / MANIFEST_NAME).read_text()) == manifest


def test_second_push_skips_unchanged_files_and_uploads_only_the_changed_one(s3: Any, model_dir: Path) -> None:
    push(s3, BUCKET, PREFIX, model_dir, transfer=SMALL_PARTS)
    again = push(s3, BUCKET, PREFIX, model_dir, transfer=SMALL_PARTS)
    assert again.transferred == []
    assert len(again.skipped) == 3
    (model_dir / "cosyvoice3.yaml").write_text("sample_rate: 22050\n")
    changed = push(s3, BUCKET, PREFIX, model_dir, transfer=SMALL_PARTS)
    assert changed.transferred == ["cosyvoice3.yaml"]


def test_pull_skips_correct_files_repairs_damaged_ones_and_resumes_partial_downloads(
    s3: Any, model_dir: Path, tmp_path: Path
) -> None:
    push(s3, BUCKET, PREFIX, model_dir, transfer=SMALL_PARTS)
    target = tmp_path / "pulled"
    pull(s3, BUCKET, PREFIX, target)
    (target / "cosyvoice3.yaml").write_text("tampered")
    (target / "llm.pt").unlink()
    # An earlier boot stopped halfway through llm.pt.
    partial = target / PARTIAL_DIR / f"{sha(model_dir / 'llm.pt')}.part"
    partial.parent.mkdir(parents=True)
    partial.write_bytes((model_dir / "llm.pt").read_bytes()[: 6 * MB])
    seen: dict[str, int] = {}
    report = pull(s3, BUCKET, PREFIX, target, lambda p, n, _s: seen.__setitem__(p, seen.get(p, 0) + n))
    assert report.skipped == ["CosyVoice-BlankEN/config.json"]
    assert sorted(report.transferred) == ["cosyvoice3.yaml", "llm.pt"]
    assert report.resumed == ["llm.pt"]
    assert sha(target / "llm.pt") == sha(model_dir / "llm.pt")
    assert seen["llm.pt"] == 11 * MB  # progress counts the resumed bytes once


def test_pull_refuses_an_object_that_does_not_match_its_checksum(s3: Any, model_dir: Path, tmp_path: Path) -> None:
    push(s3, BUCKET, PREFIX, model_dir, transfer=SMALL_PARTS)
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "cosyvoice3.yaml", Body=b"corrupted in transit")
    with pytest.raises(SyncError, match=r"cosyvoice3.yaml: checksum mismatch"):
        pull(s3, BUCKET, PREFIX, tmp_path / "pulled")
    assert not (tmp_path / "pulled" / "cosyvoice3.yaml").exists()


def test_a_manifest_cannot_write_outside_the_target(s3: Any, tmp_path: Path) -> None:
    evil = {"version": 1, "files": [{"path": "../../escape.txt", "size": 1, "sha256": "0" * 64}]}
    s3.put_object(Bucket=BUCKET, Key=PREFIX + MANIFEST_NAME, Body=json.dumps(evil).encode())
    with pytest.raises(SyncError, match="unsafe path"):
        pull(s3, BUCKET, PREFIX, tmp_path / "t")
    assert not (tmp_path.parent / "escape.txt").exists()
    for bad in ("/etc/passwd", "a/../b", "a//b", "", "a\\b"):
        with pytest.raises(SyncError):
            safe_relpath(bad)


MINI_STACK = {
    "Resources": {"Models": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "voicefleet-dev-models"}}},
    "Outputs": {"ModelsBucket": {"Value": {"Ref": "Models"}}},
}


@pytest.fixture
def cli_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    return moto_endpoint


def test_cli_push_by_env_finds_the_bucket_in_the_stack_outputs(
    cli_env: str, aws_client: Callable[..., Any], model_dir: Path, tmp_path: Path
) -> None:
    aws_client("cloudformation").create_stack(StackName="VoiceFleet-dev", TemplateBody=json.dumps(MINI_STACK))
    result = CliRunner().invoke(app, ["push", "--env", "dev", "--from", str(model_dir)])
    assert result.exit_code == 0, result.output
    assert "pushed to s3://voicefleet-dev-models/cosyvoice3/: 3 files" in result.output
    keys = [o["Key"] for o in aws_client("s3").list_objects_v2(Bucket="voicefleet-dev-models")["Contents"]]
    assert PREFIX + "llm.pt" in keys
    # An instance's boot step, through the installed console script.
    script = Path(sys.executable).parent / "voicefleet-models"
    target = tmp_path / "boot"
    args = ["pull", "--bucket", "voicefleet-dev-models", "--prefix", PREFIX, "--to", str(target)]
    proc = subprocess.run([str(script), *args], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "pulled llm.pt (11534336 bytes)" in proc.stderr  # one log line per file when not on a terminal
    assert sha(target / "llm.pt") == sha(model_dir / "llm.pt")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["push", "--env", "dev", "--bucket", "b", "--from", "."], "give exactly one of --env NAME or --bucket"),
        (["push", "--env", "nope", "--from", "."], "environment 'nope'"),
        (["push", "--bucket", "b", "--from", "/does/not/exist"], "not a directory"),
        (["push", "--bucket", "b", "--prefix", "../x", "--from", "."], "must be a relative key prefix"),
    ],
)
def test_cli_bad_input_exits_2_with_one_readable_line(cli_env: str, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    assert message in lines[0]


def test_cli_sync_failures_exit_1(cli_env: str, s3: Any, tmp_path: Path) -> None:
    missing = CliRunner().invoke(app, ["pull", "--bucket", BUCKET, "--to", str(tmp_path / "t")])
    assert missing.exit_code == 1
    assert "no model manifest" in missing.output
    no_stack = CliRunner().invoke(app, ["push", "--env", "prod", "--from", str(tmp_path)])
    assert no_stack.exit_code == 1
    assert "stack VoiceFleet-prod not found in us-east-1" in no_stack.output
