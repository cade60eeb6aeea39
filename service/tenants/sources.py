"""Where a key document is read from: the environment (fixed), a file, or an AWS Secrets Manager secret.

Each source's `read()` returns the document's text or raises KeySourceError naming the source (never a key). The
Secrets Manager client is made once; the secret's region comes from its ARN when it is one (the instance's default
region otherwise), so an instance can read a secret kept in another region.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


class KeySourceError(Exception):
    """A key source could not be read (file missing, secret unreachable or denied)."""


class KeySource(Protocol):
    @property
    def description(self) -> str:
        """What to call the source in logs and errors (its variable and path or secret id, never a key)."""
        ...

    def read(self) -> str: ...


@dataclass(frozen=True)
class InlineSource:
    """A value from the environment (TTS_API_KEYS / TTS_ADMIN_KEY): fixed for the life of the process."""

    text: str
    description: str = "TTS_API_KEYS"

    def read(self) -> str:
        return self.text


@dataclass(frozen=True)
class FileSource:
    """A file re-read on every refresh (e.g. one a config agent or an operator rewrites)."""

    path: Path
    description: str = ""

    def __post_init__(self) -> None:
        if not self.description:
            object.__setattr__(self, "description", f"file {self.path}")

    def read(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise KeySourceError(f"{self.description}: {exc.__class__.__name__}: {exc.args[-1]}") from exc


def region_of(secret_id: str) -> str | None:
    """The region of a secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME), None for a plain name."""
    parts = secret_id.split(":")
    return parts[3] if len(parts) >= 7 and parts[0] == "arn" and parts[2] == "secretsmanager" else None


@dataclass
class SecretSource:
    """The current version (AWSCURRENT) of a Secrets Manager secret's SecretString."""

    secret_id: str
    endpoint_url: str | None = None
    description: str = ""
    _client: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.description:
            self.description = f"secret {self.secret_id}"

    def client(self) -> SecretsManagerClient:
        if self._client is None:
            # Short timeouts and few retries: a refresh that cannot reach the service keeps the last good keys and
            # tries again on the next interval, rather than holding a thread for minutes.
            config = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"})
            self._client = boto3.client(
                "secretsmanager", region_name=region_of(self.secret_id), endpoint_url=self.endpoint_url, config=config
            )
        client: SecretsManagerClient = self._client
        return client

    def read(self) -> str:
        try:
            response = self.client().get_secret_value(SecretId=self.secret_id)
        except (ClientError, BotoCoreError) as exc:
            raise KeySourceError(f"{self.description}: {exc}") from exc
        text = response.get("SecretString")
        if text is None:
            raise KeySourceError(f"{self.description}: the secret holds binary data, not a key document (text)")
        return text
