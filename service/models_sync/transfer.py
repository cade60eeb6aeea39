"""Push a model directory to S3 and pull it back, with checksums, skip-unchanged and resume.

push: multipart uploads through boto3's TransferConfig; each object carries its SHA-256 in metadata, so a re-run
(or a resumed run after a failure) skips what is already there, then writes the manifest last.
pull: verifies every file against the manifest, which it writes into the target last (the mark of a complete copy);
a partial download resumes from where it stopped (HTTP Range) in a side directory and is moved into place only after
its checksum matches.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from service.models_sync.manifest import (
    CHUNK,
    MANIFEST_NAME,
    PARTIAL_DIR,
    ManifestEntry,
    SyncError,
    UsageError,
    dumps,
    loads,
    scan,
    sha256_file,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

# Model weights are GB-sized: 64 MiB parts keep a 5 GB file at 80 parts (S3 allows 10,000), 8 parts in flight.
TRANSFER = TransferConfig(multipart_threshold=64 * 1024 * 1024, multipart_chunksize=64 * 1024 * 1024, max_concurrency=8)

Progress = Callable[[str, int, int], None]
"""progress(path, bytes_done_now, file_size): called with increments while a file transfers."""


@dataclass
class SyncReport:
    transferred: list[str]
    skipped: list[str]
    resumed: list[str]
    bytes: int = 0


def normalize_prefix(prefix: str) -> str:
    if prefix.startswith("/") or ".." in prefix.split("/"):
        raise UsageError(f"--prefix '{prefix}' must be a relative key prefix such as 'cosyvoice3/'")
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def _remote_sha(client: S3Client, bucket: str, key: str) -> str | None:
    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return head.get("Metadata", {}).get("sha256")


def push(
    client: S3Client,
    bucket: str,
    prefix: str,
    source: Path,
    progress: Progress | None = None,
    *,
    transfer: TransferConfig = TRANSFER,
) -> SyncReport:
    """Upload `source` under `prefix`; unchanged files (same SHA-256 already in S3) are skipped."""
    prefix = normalize_prefix(prefix)
    entries = scan(source)
    report = SyncReport([], [], [])
    for entry in entries:
        key = prefix + entry.path
        if _remote_sha(client, bucket, key) == entry.sha256:
            report.skipped.append(entry.path)
            if progress:
                progress(entry.path, entry.size, entry.size)
            continue

        def callback(n: int, path: str = entry.path, size: int = entry.size) -> None:
            if progress:
                progress(path, n, size)

        client.upload_file(
            str(source / entry.path),
            bucket,
            key,
            ExtraArgs={"Metadata": {"sha256": entry.sha256}},
            Config=transfer,
            Callback=callback,
        )
        report.transferred.append(entry.path)
        report.bytes += entry.size
    client.put_object(Bucket=bucket, Key=prefix + MANIFEST_NAME, Body=dumps(entries), ContentType="application/json")
    return report


def _download(
    client: S3Client, bucket: str, key: str, part: Path, entry: ManifestEntry, progress: Progress | None
) -> bool:
    """Fetch into `part`, continuing an earlier partial download; returns True if it resumed."""
    have = part.stat().st_size if part.exists() else 0
    if have > entry.size:
        part.unlink()
        have = 0
    resumed = have > 0
    if progress and have:
        progress(entry.path, have, entry.size)
    if have < entry.size:
        body = client.get_object(Bucket=bucket, Key=key, Range=f"bytes={have}-")["Body"]
        with part.open("ab") as handle:
            while chunk := body.read(CHUNK):
                handle.write(chunk)
                if progress:
                    progress(entry.path, len(chunk), entry.size)
    return resumed


def pull(client: S3Client, bucket: str, prefix: str, target: Path, progress: Progress | None = None) -> SyncReport:
    """Download the model under `prefix` into `target`, verifying every file; files already correct are skipped."""
    prefix = normalize_prefix(prefix)
    try:
        manifest = client.get_object(Bucket=bucket, Key=prefix + MANIFEST_NAME)["Body"].read()
    except ClientError as exc:
        raise SyncError(
            f"no model manifest at s3://{bucket}/{prefix}{MANIFEST_NAME} ({exc.response.get('Error', {}).get('Code')});"
            " run `voicefleet-models push` first"
        ) from exc
    entries = loads(manifest)
    report = SyncReport([], [], [])
    partial_root = target / PARTIAL_DIR
    for entry in entries:
        final = target / entry.path
        if final.is_file() and final.stat().st_size == entry.size and sha256_file(final) == entry.sha256:
            report.skipped.append(entry.path)
            if progress:
                progress(entry.path, entry.size, entry.size)
            continue
        # Named by content: a partial file of an older version of the model is never continued with newer bytes.
        part = partial_root / f"{entry.sha256}.part"
        part.parent.mkdir(parents=True, exist_ok=True)
        if _download(client, bucket, prefix + entry.path, part, entry, progress):
            report.resumed.append(entry.path)
        actual = sha256_file(part)
        if actual != entry.sha256:
            part.unlink()
            raise SyncError(f"{entry.path}: checksum mismatch (expected {entry.sha256[:12]}…, got {actual[:12]}…)")
        final.parent.mkdir(parents=True, exist_ok=True)
        part.replace(final)
        report.transferred.append(entry.path)
        report.bytes += entry.size
    shutil.rmtree(partial_root, ignore_errors=True)
    # Last, as push does: its presence marks a complete, verified copy (a baked image's boot checks for it).
    (target / MANIFEST_NAME).write_bytes(manifest)
    return report
