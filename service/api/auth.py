"""Route dependencies for API keys: client routes need any key (when keys are configured), admin routes the admin
key. The keys live in the app's `ApiKeyAuth` (service/security.py), built from settings in create_app."""

from __future__ import annotations

from fastapi import Request

from service.security import ApiKeyAuth


def _auth(request: Request) -> ApiKeyAuth:
    auth: ApiKeyAuth = request.app.state.auth
    return auth


async def require_api_key(request: Request) -> None:
    """401 without a valid `Authorization: Bearer <key>` or `x-api-key` (open when TTS_API_KEYS is empty)."""
    await _auth(request).require_api_key(request)


async def require_admin(request: Request) -> None:
    """Only the admin key (TTS_ADMIN_KEY); 403 for client keys and when no admin key is set."""
    await _auth(request).require_admin(request)
