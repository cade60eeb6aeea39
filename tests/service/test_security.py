"""API keys and admin key enforced on a real uvicorn server; health stays open; production refuses to start open."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from service.security import ApiKeyAuth, AuthError, SecurityConfigError, check_startup
from tests.service.fakes.live_server import live_server

CLIENT_KEY = "k-client-0123456789abcdef"
ADMIN_KEY = "k-admin-0123456789abcdef"


def make_app(auth: ApiKeyAuth) -> FastAPI:
    app = FastAPI()

    @app.exception_handler(AuthError)
    async def auth_error(_request: Request, exc: AuthError) -> JSONResponse:
        """As the integration plan maps it: the code goes into the service's error body."""
        return JSONResponse({"error": {"code": exc.code, "message": exc.detail}}, exc.status_code, exc.headers)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/audio/speech", dependencies=[Depends(auth.require_api_key)])
    async def speech() -> dict[str, str]:
        return {"audio": "..."}

    @app.post("/admin/restart", dependencies=[Depends(auth.require_admin)])
    async def restart() -> dict[str, str]:
        return {"restarting": "yes"}

    return app


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with live_server(make_app(ApiKeyAuth([CLIENT_KEY, "k-second-0123456789abcdef"], ADMIN_KEY))) as url:
        yield url


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "missing_api_key"),
        ({"Authorization": "Bearer wrong-key-0123456789"}, 401, "invalid_api_key"),
        ({"Authorization": "Basic " + CLIENT_KEY}, 401, "missing_api_key"),
        ({"Authorization": f"Bearer {CLIENT_KEY}"}, 200, None),
        ({"authorization": f"bearer {CLIENT_KEY}"}, 200, None),
        ({"x-api-key": "k-second-0123456789abcdef"}, 200, None),
        ({"x-api-key": ADMIN_KEY}, 200, None),
    ],
)
def test_client_routes_need_a_valid_key(base_url: str, headers: dict[str, str], status: int, code: str | None) -> None:
    response = httpx.post(f"{base_url}/v1/audio/speech", headers=headers)
    assert response.status_code == status
    if code:
        assert response.json()["error"]["code"] == code
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": f"Bearer {CLIENT_KEY}"}, 403), ({"x-api-key": ADMIN_KEY}, 200)],
)
def test_admin_routes_need_the_admin_key(base_url: str, headers: dict[str, str], status: int) -> None:
    assert httpx.post(f"{base_url}/admin/restart", headers=headers).status_code == status


def test_health_is_open(base_url: str) -> None:
    assert httpx.get(f"{base_url}/healthz").status_code == 200


def test_without_keys_client_routes_are_open_and_admin_is_disabled() -> None:
    with live_server(make_app(ApiKeyAuth([], None))) as url:
        assert httpx.post(f"{url}/v1/audio/speech").status_code == 200
        disabled = httpx.post(f"{url}/admin/restart", headers={"x-api-key": "anything-at-all-long"})
        assert disabled.status_code == 403
        assert disabled.json()["error"] == {
            "code": "admin_disabled",
            "message": "admin routes are disabled: TTS_ADMIN_KEY is not set",
        }


def test_startup_check() -> None:
    check_startup("dev", [], None)  # an open environment may run without keys
    check_startup("prod", [CLIENT_KEY], None)  # admin routes simply stay disabled
    with pytest.raises(SecurityConfigError, match="environment 'prod' requires TTS_API_KEYS"):
        check_startup("prod", [], ADMIN_KEY)
    with pytest.raises(SecurityConfigError, match="at least 16 characters"):
        check_startup("prod", ["short"], ADMIN_KEY)
    with pytest.raises(SecurityConfigError, match="at least 16 characters"):
        check_startup("prod", [CLIENT_KEY], "adminpw")
