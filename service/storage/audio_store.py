"""Finished audio to S3, with a local spool when S3 is unavailable: no audio is ever lost.

`store()` tries S3 once (short timeouts, see `s3_client`); on failure the audio goes to the spool and the caller
still gets its final key and URL, marked pending. A background thread retries the spool with exponential backoff;
`flush()` empties it on drain, and a new process finds what an old one left.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from service.storage.spool import Spool, SpoolEntry

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)


def s3_client(region: str | None = None, endpoint_url: str | None = None) -> S3Client:
    """An S3 client that fails fast on the request path (the spool covers failures) instead of hanging a request."""
    import boto3

    config = Config(connect_timeout=2, read_timeout=15, retries={"max_attempts": 2, "mode": "standard"})
    client: S3Client = boto3.client("s3", region_name=region, endpoint_url=endpoint_url, config=config)
    return client


@dataclass(frozen=True)
class StoredAudio:
    key: str
    url: str
    pending: bool
    """True when the audio sits in the local spool; the URL works once the upload goes through."""


class AudioStore:
    """Uploads audio under its key; spools and retries when S3 fails."""

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        spool: Spool,
        *,
        cdn_domain: str | None = None,
        presign_expiry_s: int = 3600,
        retry_base_s: float = 1.0,
        retry_max_s: float = 60.0,
        on_spool_change: Callable[[int, int], None] | None = None,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.spool = spool
        self.cdn_domain = cdn_domain.removeprefix("https://").rstrip("/") if cdn_domain else None
        self.presign_expiry_s = presign_expiry_s
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.uploaded = 0
        self.spooled = 0
        self._on_spool_change = on_spool_change
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- request path ----------------------------------------------------------------------------------------------
    def url_for(self, key: str) -> str:
        """The CloudFront URL (the distribution routes /audio/* to this bucket), else a presigned GET."""
        if self.cdn_domain:
            return f"https://{self.cdn_domain}/{key}"
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self.presign_expiry_s
        )

    def store(self, key: str, body: bytes, *, content_type: str, metadata: dict[str, str]) -> StoredAudio:
        """Upload now, or spool durably and upload later. Raises only if the local disk fails too."""
        try:
            self._put(key, body, content_type, metadata)
            self.uploaded += 1
            return StoredAudio(key, self.url_for(key), pending=False)
        except (BotoCoreError, ClientError) as exc:
            log.warning("S3 upload of %s failed (%s); spooled", key, exc, extra={"event": "spool", "key": key})
        self.spool.put(key, body, content_type=content_type, metadata=metadata)
        self.spooled += 1
        self._spool_changed()
        self._wake.set()
        return StoredAudio(key, self.url_for(key), pending=True)

    def _put(self, key: str, body: bytes, content_type: str, metadata: dict[str, str]) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, Metadata=metadata)

    def _spool_changed(self) -> None:
        if self._on_spool_change is not None:
            self._on_spool_change(len(self.spool), self.spool.size_bytes())

    # -- background retry ------------------------------------------------------------------------------------------
    def upload_spooled(self) -> int:
        """One pass over the spool, oldest first; stops at the first failure. Returns how many are left."""
        with self._flush_lock:
            entries = self.spool.entries()
            done = 0
            try:
                for entry in entries:
                    self._upload_entry(entry)
                    done += 1
            except (BotoCoreError, ClientError) as exc:
                log.info("spool retry failed after %d uploads: %s", done, exc, extra={"event": "spool_retry"})
            finally:
                if done:
                    self._spool_changed()
            return len(entries) - done

    def _upload_entry(self, entry: SpoolEntry) -> None:
        self._put(entry.key, entry.read(), entry.content_type, entry.metadata)
        self.spool.remove(entry)
        self.uploaded += 1
        log.info("spooled %s uploaded", entry.key, extra={"event": "spool_uploaded", "key": entry.key})

    def start(self) -> None:
        """Start the retry thread (it also picks up what a previous process left in the spool)."""
        if self._thread is None:
            self._wake.set()
            self._thread = threading.Thread(target=self._retry_loop, name="spool-retry", daemon=True)
            self._thread.start()

    def _backoff(self, failures: int) -> float:
        """Exponential backoff with full jitter, so a fleet that lost S3 together does not retry together."""
        cap = min(self.retry_max_s, self.retry_base_s * 2 ** min(failures, 30))
        return random.uniform(self.retry_base_s, max(cap, self.retry_base_s))

    def _retry_loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            if failures:
                # Backing off: new spooled audio does not shorten the wait (S3 is known to be failing).
                if self._stop.wait(self._backoff(failures)):
                    return
            else:
                self._wake.wait(timeout=self.retry_max_s)
                self._wake.clear()
            if self._stop.is_set() or not len(self.spool):
                continue
            failures = failures + 1 if self.upload_spooled() else 0

    def flush(self, timeout_s: float) -> int:
        """Upload everything spooled, retrying until done or `timeout_s` passed (drain); returns how many are left."""
        deadline = time.monotonic() + timeout_s
        failures = 0
        while True:
            left = self.upload_spooled()
            remaining = deadline - time.monotonic()
            if not left or remaining <= 0:
                return left
            failures += 1
            threading.Event().wait(min(remaining, self._backoff(failures)))

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def status(self) -> dict[str, Any]:
        return {"spooled": len(self.spool), "spool_bytes": self.spool.size_bytes(), "uploaded": self.uploaded}
