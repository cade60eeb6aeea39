"""The key document, parsed and checked: which key belongs to which tenant, and which tenants are admins.

The API keys source (TTS_API_KEYS, TTS_API_KEYS_FILE or the Secrets Manager secret TTS_API_KEYS_SECRET) holds either

- a JSON object, tenant name -> key, list of keys (several while a key is rotated), or {"keys": [...], "admin": true}:
  `{"acme": "k-…", "globex": ["k-new-…", "k-old-…"], "ops": {"keys": ["k-…"], "admin": true}}`; or
- the old format, one key or a comma-separated list (what the stack's generated secret holds): all of them belong
  to one tenant, `default` (the owner of every voice saved before tenants existed).

The admin key source (TTS_ADMIN_KEY, _FILE, _SECRET) holds one key or a comma-separated list: tenant `admin`, an
admin. Tenants are named like voices (1-64 of a-z 0-9 - _). Keys are matched in constant time against every key.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError

LEGACY_TENANT = "default"
"""The tenant of the old key format, and the owner of voices saved before voices had owners."""
ADMIN_TENANT = "admin"
"""The tenant of the admin key source (TTS_ADMIN_KEY); reserved in the key document."""
TENANT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")

# Environments where running without API keys is acceptable (a laptop, CI, a disposable dev stack).
OPEN_ENVIRONMENTS = frozenset({"local", "dev", "test", "ci"})
# Keys that appear in examples and must never protect a real deployment.
_WEAK_KEYS = frozenset({"changeme", "change-me", "secret", "password", "test", "admin", "key", "apikey"})
# 16 random base64url characters are 96 bits; anything shorter is an example value or a guessable word.
MIN_KEY_CHARS = 16


class KeyFormatError(ValueError):
    """A key document that cannot be used; the message names the source and what is wrong, never a key."""


@dataclass(frozen=True)
class Tenant:
    name: str
    admin: bool = False


class _TenantEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[str] = Field(min_length=1)
    admin: bool = False


_Document = RootModel[dict[str, str | list[str] | _TenantEntry]]


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _entries(text: str, source: str) -> list[tuple[str, Tenant]]:
    """(key, tenant) pairs of an API keys document, JSON or the old comma list."""
    text = text.strip()
    if not text.startswith("{"):
        return [(key, Tenant(LEGACY_TENANT)) for key in _split(text)]
    try:
        document = _Document.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise KeyFormatError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc
    except ValidationError as exc:
        loc = exc.errors()[0]["loc"]
        where = str(loc[0]) if loc else "(document)"  # the tenant; pydantic's union branch names add nothing
        raise KeyFormatError(
            f'{source}: tenant entry \'{where}\' must be a key, a list of keys or {{"keys": [...], "admin": bool}}'
        ) from exc
    pairs: list[tuple[str, Tenant]] = []
    for name, entry in document.root.items():
        if not TENANT_NAME.fullmatch(name):
            raise KeyFormatError(f"{source}: tenant name '{name}' is invalid: use 1-64 of a-z 0-9 - _")
        if name == ADMIN_TENANT:
            raise KeyFormatError(f"{source}: tenant name '{ADMIN_TENANT}' is reserved for the admin key")
        if isinstance(entry, _TenantEntry):
            keys, admin = entry.keys, entry.admin
        else:
            keys, admin = ([entry] if isinstance(entry, str) else entry), False
        if not keys or any(not key.strip() or key != key.strip() for key in keys):
            raise KeyFormatError(f"{source}: tenant '{name}' has an empty key or one with surrounding spaces")
        pairs.extend((key, Tenant(name, admin)) for key in keys)
    return pairs


@dataclass(frozen=True)
class Keyring:
    """Every accepted key with its tenant; empty = no keys configured (open environments only)."""

    entries: tuple[tuple[bytes, Tenant], ...] = ()

    @classmethod
    def parse(
        cls,
        api_keys: str | None,
        admin_keys: str | None = None,
        *,
        api_source: str = "TTS_API_KEYS",
        admin_source: str = "TTS_ADMIN_KEY",
    ) -> Keyring:
        """The keyring of an API keys document and an admin key text; KeyFormatError names what is wrong."""
        pairs = _entries(api_keys, api_source) if api_keys else []
        if admin_keys:
            pairs += [(key, Tenant(ADMIN_TENANT, admin=True)) for key in _split(admin_keys)]
        owners: dict[str, list[str]] = {}
        for key, tenant in pairs:
            owners.setdefault(key, []).append(tenant.name)
        for names in owners.values():
            if len(names) > 1 and ADMIN_TENANT in names and set(names) != {ADMIN_TENANT}:
                raise KeyFormatError(f"{admin_source} must differ from every key in {api_source}")
            if len(names) > 1:
                raise KeyFormatError(
                    f"{api_source}: a key appears twice (tenants {sorted(set(names))}); keys must differ"
                )
        return cls(tuple((key.encode("utf-8"), tenant) for key, tenant in pairs))

    @property
    def enabled(self) -> bool:
        return bool(self.entries)

    @property
    def tenants(self) -> dict[str, Tenant]:
        return {tenant.name: tenant for _, tenant in self.entries}

    @property
    def has_admin(self) -> bool:
        return any(tenant.admin for _, tenant in self.entries)

    def match(self, presented: str) -> Tenant | None:
        """The tenant of `presented`, compared in constant time against every key (no early exit, so the time
        taken does not say which key, or how much of one, matched)."""
        candidate = presented.encode("utf-8")
        found: Tenant | None = None
        for key, tenant in self.entries:
            if hmac.compare_digest(candidate, key):
                found = tenant
        return found

    def problem(self, environment: str) -> str | None:
        """Why these keys must not protect `environment` (None when they may): the one place for the key rules."""
        if environment in OPEN_ENVIRONMENTS:
            return None
        keys = [key.decode("utf-8") for key, _ in self.entries]
        weak = [key for key in keys if key.lower() in _WEAK_KEYS]
        if weak:
            return f"API key '{weak[0]}' is an example value; set real keys for environment '{environment}'"
        if not any(tenant.name != ADMIN_TENANT for _, tenant in self.entries):
            return f"environment '{environment}' requires TTS_API_KEYS; only {sorted(OPEN_ENVIRONMENTS)} may run open"
        if any(len(key) < MIN_KEY_CHARS for key in keys):
            return f"environment '{environment}': API keys must be at least {MIN_KEY_CHARS} characters"
        return None
