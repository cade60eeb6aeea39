"""The current keyring, re-read from its sources on an interval so a rotated key takes effect without a restart.

A re-read that fails (source unreachable, malformed document, keys that break the environment's rules) keeps the
last good keyring, logs the reason (never a key) and counts it (voicefleet_keys_refresh_total{result="error"}):
a bad rotation never locks every client out and never stops the process. Until the first good read, a keyed
environment has no keyring: /v1 answers 503 `keys_unavailable` and /readyz is 503, so the load balancer sends
nothing to an instance that could only refuse it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from service.tenants.keyring import KeyFormatError, Keyring
from service.tenants.sources import FileSource, InlineSource, KeySource, KeySourceError, SecretSource

log = logging.getLogger(__name__)
# Long enough for a healthy Secrets Manager call (tens of milliseconds) with retries, short enough not to hold startup.
FIRST_READ_TIMEOUT_S = 10.0


class KeyManager:
    """Holds the keyring; `refresh()` re-reads the sources (blocking, run it on a thread); `run()` loops forever."""

    def __init__(
        self,
        api_source: KeySource | None,
        admin_source: KeySource | None,
        *,
        environment: str,
        interval_s: float,
        fallback: Keyring | None = None,
        on_refresh: Callable[[bool], None] | None = None,
    ) -> None:
        self.api_source = api_source
        self.admin_source = admin_source
        self.environment = environment
        self.interval_s = interval_s
        self._keyring = fallback  # e.g. the keys the boot wrote into the environment, until the first read
        self._on_refresh = on_refresh
        self.last_error: str | None = None
        self.last_success: float | None = None
        self._lock = threading.Lock()

    @property
    def required(self) -> bool:
        """Whether requests need a key: some source is configured."""
        return self.api_source is not None or self.admin_source is not None

    @property
    def rereads(self) -> bool:
        """Whether a source can change (a file or a secret), so refreshing on an interval is worth it."""
        return any(s is not None and not isinstance(s, InlineSource) for s in (self.api_source, self.admin_source))

    @property
    def keyring(self) -> Keyring | None:
        """The last good keyring; None while a keyed environment has not read one yet."""
        if not self.required:
            return Keyring()
        return self._keyring

    def read(self) -> Keyring:
        """Read and check both sources now; KeySourceError or KeyFormatError say why they cannot be used."""
        api_text = self.api_source.read() if self.api_source is not None else None
        admin_text = self.admin_source.read() if self.admin_source is not None else None
        keyring = Keyring.parse(
            api_text,
            admin_text,
            api_source=self.api_source.description if self.api_source else "TTS_API_KEYS",
            admin_source=self.admin_source.description if self.admin_source else "TTS_ADMIN_KEY",
        )
        problem = keyring.problem(self.environment)
        if problem:
            raise KeyFormatError(problem)
        return keyring

    def refresh(self) -> bool:
        """Re-read; on success swap the keyring in, on failure keep the last good one. True when it worked."""
        if not self.required:
            return True
        try:
            keyring = self.read()
        except (KeySourceError, KeyFormatError) as exc:
            with self._lock:
                first = self.last_error != str(exc)
                self.last_error = str(exc)
            kept = "keeping the last good keys" if self._keyring is not None else "no keys loaded yet: /v1 answers 503"
            # Logged at ERROR when the reason changes, then at WARNING each interval (no log flood, still visible).
            log.log(
                logging.ERROR if first else logging.WARNING,
                "API keys could not be re-read (%s): %s",
                kept,
                exc,
                extra={"event": "keys_refresh", "result": "error"},
            )
            if self._on_refresh is not None:
                self._on_refresh(False)
            return False
        with self._lock:
            changed = self._keyring != keyring
            self._keyring = keyring
            self.last_error = None
            self.last_success = time.time()
        if changed:
            log.info(
                "API keys loaded: %d keys, tenants %s",
                len(keyring.entries),
                ", ".join(sorted(keyring.tenants)),
                extra={"event": "keys_refresh", "result": "ok"},
            )
        if self._on_refresh is not None:
            self._on_refresh(True)
        return True

    async def run(self, first: asyncio.Future[bool] | None = None) -> None:
        """Refresh every `interval_s`, after the first read (`first`) finished, so reads never overlap."""
        if first is not None:
            await first
        while True:
            await asyncio.sleep(self.interval_s)
            await asyncio.to_thread(self.refresh)

    async def start(self, first_read_timeout_s: float = FIRST_READ_TIMEOUT_S) -> asyncio.Task[None] | None:
        """The first read, waited for at most `first_read_timeout_s` (a secret that cannot be reached must not hold
        the server's startup: /healthz answers, /readyz says no_keys, and the read completes in the background),
        then the periodic task."""
        if not self.required:
            return None
        first = asyncio.ensure_future(asyncio.to_thread(self.refresh))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(first), first_read_timeout_s)
        if not self.rereads:
            return None
        return asyncio.create_task(self.run(first), name="keys-refresh")


async def stop(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def key_manager(
    *,
    environment: str,
    api_keys: str | None,
    api_keys_file: Path | None,
    api_keys_secret: str | None,
    admin_key: str | None,
    admin_key_file: Path | None,
    admin_key_secret: str | None,
    interval_s: float,
    secrets_endpoint_url: str | None = None,
    on_refresh: Callable[[bool], None] | None = None,
) -> KeyManager:
    """The manager for these settings: a file or secret when one is named (inline keys are then the fallback until
    its first good read), else the inline value; nothing at all = no keys (open environments only)."""

    def source(name: str, inline: str | None, path: Path | None, secret: str | None) -> KeySource | None:
        if path is not None:
            return FileSource(path, f"{name}_FILE {path}")
        if secret:
            return SecretSource(secret, secrets_endpoint_url, f"{name}_SECRET {secret}")
        return InlineSource(inline, name) if inline else None

    api = source("TTS_API_KEYS", api_keys, api_keys_file, api_keys_secret)
    admin = source("TTS_ADMIN_KEY", admin_key, admin_key_file, admin_key_secret)
    fallback = None
    if (api_keys or admin_key) and not (
        isinstance(api, InlineSource) and (admin is None or isinstance(admin, InlineSource))
    ):
        fallback = Keyring.parse(api_keys, admin_key)  # checked at startup by Settings' validation
    manager = KeyManager(
        api, admin, environment=environment, interval_s=interval_s, fallback=fallback, on_refresh=on_refresh
    )
    if not manager.rereads:
        manager.refresh()  # fixed values: read once, now (no I/O)
    return manager
