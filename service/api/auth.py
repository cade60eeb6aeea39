"""Route dependencies for API keys: client routes need any key (when keys are configured), admin routes an admin
key. The keys live in the app's `ApiKeyAuth` (service/security.py), built from settings in create_app; the tenant a
key belongs to is what the voice routes see (`current_tenant`)."""

from __future__ import annotations

from fastapi import Request

from service.security import ApiKeyAuth
from service.tenants.keyring import Tenant


def _auth(request: Request) -> ApiKeyAuth:
    auth: ApiKeyAuth = request.app.state.auth
    return auth


async def require_api_key(request: Request) -> Tenant:
    """401 without a valid `Authorization: Bearer <key>` or `x-api-key` (open when no API keys are configured)."""
    return await _auth(request).require_api_key(request)


async def require_admin(request: Request) -> Tenant:
    """Only an admin key; 403 for client keys and when no admin key is configured."""
    return await _auth(request).require_admin(request)


async def current_tenant(request: Request) -> Tenant:
    """The tenant of this request's key (authenticated by the router's dependency; checked again if it did not run)."""
    tenant = getattr(request.state, "tenant", None)
    return tenant if isinstance(tenant, Tenant) else await require_api_key(request)
