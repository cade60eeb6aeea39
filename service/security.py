"""API-key authentication at request time: FastAPI dependencies for client and admin routes.

Keys come as `Authorization: Bearer <key>` or `x-api-key: <key>` (the second for clients that cannot set
Authorization). Comparisons are constant-time over every configured key (service/tenants/keyring.py), so response
timing does not reveal a prefix. Each key belongs to a tenant; the tenant is put on `request.state.tenant` for the
voice routes. Health endpoints take no dependency and stay open for the load balancer. Which keys may protect which
environment is decided by the keyring's rules: at startup (Settings' validation) and on every re-read.
"""

from __future__ import annotations

from fastapi import HTTPException, Request

from service.tenants.keyring import LEGACY_TENANT, Keyring, Tenant
from service.tenants.refresh import KeyManager

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="voicefleet"'}


def presented_key(request: Request) -> str | None:
    """The key a request carries, from `Authorization: Bearer` first, else `x-api-key`."""
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key and key.strip() else None


# Without keys (open environments only) every request is this tenant: the owner of voices saved before tenants.
OPEN_TENANT = Tenant(LEGACY_TENANT)


class AuthError(HTTPException):
    """401 (no or unknown key, with a Bearer challenge) or 403 (key not allowed here); `code` names the case.

    An HTTPException, so any app renders it; the service's error handler can add `code` to its error body."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status, detail=message, headers=headers or (_CHALLENGE if status == 401 else None))
        self.code = code


def _error(status: int, code: str, message: str) -> AuthError:
    return AuthError(status, code, message)


class ApiKeyAuth:
    """`Depends(auth.require_api_key)` on client routes (it answers the request's Tenant), `Depends(
    auth.require_admin)` on admin routes. The keys are the KeyManager's current keyring, re-read on an interval."""

    def __init__(self, keys: KeyManager) -> None:
        self.keys = keys

    @property
    def enabled(self) -> bool:
        """Client routes need a key when an API keys source is configured (an admin key alone guards admin routes)."""
        return self.keys.api_source is not None

    def _keyring(self) -> Keyring:
        keyring = self.keys.keyring
        if keyring is None:
            raise AuthError(
                503,
                "keys_unavailable",
                "the service has not been able to read its API keys yet; retry shortly",
                headers={"Retry-After": "5"},
            )
        return keyring

    async def require_api_key(self, request: Request) -> Tenant:
        """Client routes: the tenant of the key (an admin key is accepted too); the open tenant without keys."""
        if not self.enabled:
            tenant = OPEN_TENANT
        else:
            keyring = self._keyring()
            key = presented_key(request)
            if key is None:
                raise _error(401, "missing_api_key", "send your key as 'Authorization: Bearer <key>' or 'x-api-key'")
            found = keyring.match(key)
            if found is None:
                raise _error(401, "invalid_api_key", "the API key is not valid")
            tenant = found
        request.state.tenant = tenant
        return tenant

    async def require_admin(self, request: Request) -> Tenant:
        """Admin routes: only an admin key; 401 for no or an unknown key, 403 for a client key or when no admin key
        is configured."""
        keyring = self._keyring() if self.keys.required else Keyring()
        if not keyring.has_admin:
            raise _error(
                403,
                "admin_disabled",
                'admin routes are disabled: no admin key is configured (TTS_ADMIN_KEY, or a tenant with "admin": true)',
            )
        key = presented_key(request)
        if key is None:
            raise _error(
                401,
                "missing_api_key",
                "admin routes need the admin key as 'Authorization: Bearer <key>' or 'x-api-key'",
            )
        tenant = keyring.match(key)
        if tenant is None:
            raise _error(401, "invalid_api_key", "the API key is not valid")
        if not tenant.admin:  # a real client key: authenticated, but not allowed here
            raise _error(403, "not_admin", "this client key may not use admin routes; send the admin key")
        request.state.tenant = tenant
        return tenant
