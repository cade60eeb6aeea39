"""The checksum manifest of a model directory: every file's relative path, size and SHA-256.

The manifest is uploaded last by `push`, so a `pull` sees either the previous complete model or the new one.
Paths are validated both ways: a manifest can never make `pull` write outside its target directory.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

MANIFEST_NAME = ".voicefleet-manifest.json"
PARTIAL_DIR = ".voicefleet-partial"
CHUNK = 8 * 1024 * 1024


class SyncError(Exception):
    """A sync failed in a way the operator must look at (checksum mismatch, missing manifest, S3 error)."""


class UsageError(SyncError):
    """Bad command-line input (exit code 2)."""


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    size: int
    sha256: str


def safe_relpath(path: str) -> str:
    """A relative POSIX path with no '..', no absolute root and no empty parts; raises SyncError otherwise."""
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or "\\" in path or any(part in ("", ".", "..") for part in path.split("/")):
        raise SyncError(f"unsafe path in manifest: {path!r}")
    return str(pure)


def sha256_file(path: Path, on_bytes: object = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            if callable(on_bytes):
                on_bytes(len(chunk))
    return digest.hexdigest()


def scan(root: Path) -> list[ManifestEntry]:
    """Every regular file under `root` (sorted), except the sync's own bookkeeping; symlinks are refused."""
    if not root.is_dir():
        raise UsageError(f"--from {root}: not a directory")
    entries: list[ManifestEntry] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != PARTIAL_DIR)
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            rel = path.relative_to(root).as_posix()
            if rel == MANIFEST_NAME:
                continue
            if path.is_symlink():
                raise UsageError(f"{path}: symlinks are not synced; copy the file into the model directory")
            entries.append(ManifestEntry(safe_relpath(rel), path.stat().st_size, sha256_file(path)))
    if not entries:
        raise UsageError(f"--from {root}: the directory is empty")
    return entries


def dumps(entries: list[ManifestEntry]) -> bytes:
    return json.dumps({"version": 1, "files": [asdict(e) for e in entries]}, indent=1).encode("utf-8")


def loads(data: bytes) -> list[ManifestEntry]:
    try:
        raw = json.loads(data)
        entries = [ManifestEntry(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in raw["files"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise SyncError(f"the manifest is not readable: {exc}") from exc
    for entry in entries:
        safe_relpath(entry.path)
    return entries
