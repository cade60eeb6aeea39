"""A local directory of audio waiting for S3: atomic writes, so a crash or restart never loses or corrupts an entry.

Each entry is `<sha256(key)>.data` (the bytes) plus `<sha256(key)>.json` (key, content type, metadata), each written
to a temporary file, fsynced and renamed into place; the .json is written last and is the commit marker, so a .data
without its .json is a write interrupted before it was acknowledged, and is cleaned up.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SpoolEntry:
    key: str
    content_type: str
    metadata: dict[str, str]
    data_path: Path
    meta_path: Path
    created: float

    def read(self) -> bytes:
        return self.data_path.read_bytes()


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(tmp).unlink()
        raise


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """Pending uploads on local disk (e.g. /var/spool/voicefleet)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._recover()

    def _recover(self) -> None:
        """Remove leftovers of writes that never completed (no commit marker)."""
        for tmp in self.directory.glob(".tmp-*"):
            tmp.unlink(missing_ok=True)
        for data in self.directory.glob("*.data"):
            if not data.with_suffix(".json").exists():
                data.unlink(missing_ok=True)

    def _paths(self, key: str) -> tuple[Path, Path]:
        stem = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return self.directory / f"{stem}.data", self.directory / f"{stem}.json"

    def put(self, key: str, body: bytes, *, content_type: str, metadata: dict[str, str]) -> SpoolEntry:
        """Write durably; when this returns, the audio survives a crash."""
        data_path, meta_path = self._paths(key)
        created = time.time()
        _atomic_write(data_path, body)
        meta = {"key": key, "content_type": content_type, "metadata": metadata, "created": created}
        _atomic_write(meta_path, json.dumps(meta).encode("utf-8"))
        _fsync_dir(self.directory)
        return SpoolEntry(key, content_type, metadata, data_path, meta_path, created)

    def entries(self) -> list[SpoolEntry]:
        """Committed entries, oldest first."""
        found: list[SpoolEntry] = []
        for meta_path in self.directory.glob("*.json"):
            data_path = meta_path.with_suffix(".data")
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # removed by a concurrent flush
            if data_path.exists():
                found.append(
                    SpoolEntry(
                        meta["key"], meta["content_type"], meta["metadata"], data_path, meta_path, meta["created"]
                    )
                )
        return sorted(found, key=lambda e: (e.created, e.key))

    def remove(self, entry: SpoolEntry) -> None:
        """Forget an uploaded entry (marker first, so a crash in between leaves only a cleanable .data)."""
        entry.meta_path.unlink(missing_ok=True)
        entry.data_path.unlink(missing_ok=True)

    def __len__(self) -> int:
        return sum(1 for _ in self.directory.glob("*.json"))

    def size_bytes(self) -> int:
        total = 0
        for path in self.directory.glob("*.data"):
            with contextlib.suppress(FileNotFoundError):  # uploaded and removed meanwhile
                total += path.stat().st_size
        return total
