"""API-key authentication at request time: FastAPI dependencies for client and admin routes.

Keys come as `Authorization: Bearer <key>` or `x-api-key: <key>` (the second for clients that cannot set
Authorization). Comparisons are constant-time over every configured key, so response timing does not reveal a
prefix. Health endpoints take no dependency and stay open for the load balancer. Which keys may protect which
environment is decided once, at startup, by service.settings.Settings' validation.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from fastapi import HTTPException, Request

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


def _matches(candidate: str, keys: Sequence[str]) -> bool:
    found = False
    for key in keys:  # no early exit: the time taken does not depend on which key matched
        found |= hmac.compare_digest(candidate.encode("utf-8"), key.encode("utf-8"))
    return found


class AuthError(HTTPException):
    """401 (no or unknown key, with a Bearer challenge) or 403 (key not allowed here); `code` names the case.

    An HTTPException, so any app renders it; the service's error handler can add `code` to its error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status_code=status, detail=message, headers=_CHALLENGE if status == 401 else None)
        self.code = code


def _error(status: int, code: str, message: str) -> AuthError:
    return AuthError(status, code, message)


class ApiKeyAuth:
    """`Depends(auth.require_api_key)` on client routes, `Depends(auth.require_admin)` on admin routes."""

    def __init__(self, api_keys: Sequence[str], admin_key: str | None) -> None:
        self.api_keys = tuple(api_keys)
        self.admin_key = admin_key

    @property
    def enabled(self) -> bool:
        return bool(self.api_keys)

    async def require_api_key(self, request: Request) -> None:
        """Client routes: any API key (or the admin key) when keys are configured; open otherwise."""
        if not self.enabled:
            return
        key = presented_key(request)
        if key is None:
            raise _error(401, "missing_api_key", "send your key as 'Authorization: Bearer <key>' or 'x-api-key'")
        allowed = (*self.api_keys, self.admin_key) if self.admin_key else self.api_keys
        if not _matches(key, allowed):
            raise _error(401, "invalid_api_key", "the API key is not valid")

    async def require_admin(self, request: Request) -> None:
        """Admin routes: only the admin key; 401 for no or an unknown key, 403 for a client key or when no admin key
        is configured."""
        if not self.admin_key:
            raise _error(403, "admin_disabled", "admin routes are disabled: TTS_ADMIN_KEY is not set")
        key = presented_key(request)
        if key is None:
            raise _error(
                401,
                "missing_api_key",
                "admin routes need the admin key as 'Authorization: Bearer <key>' or 'x-api-key'",
            )
        if _matches(key, (self.admin_key,)):
            return
        if _matches(key, self.api_keys):  # a real client key: authenticated, but not allowed here
            raise _error(403, "not_admin", "this client key may not use admin routes; send the admin key")
        raise _error(401, "invalid_api_key", "the API key is not valid")
