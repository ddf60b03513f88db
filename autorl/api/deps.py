"""Dependencies of the routes, as ``Annotated`` aliases (settings, storage), and the token
check that ``create_app`` puts on the routers that need it."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

import optuna
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from autorl.api.errors import documented
from autorl.api.settings import ApiSettings
from autorl.api.store import StorageCache

_bearer = HTTPBearer(auto_error=False, description="the API token (AUTORL_API_TOKEN)")


def get_settings(request: Request) -> ApiSettings:
    return request.app.state.settings


def get_storage(request: Request) -> optuna.storages.RDBStorage:
    cache: StorageCache = request.app.state.storage
    return cache.get()


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
StorageDep = Annotated[optuna.storages.RDBStorage, Depends(get_storage)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def get_storage_url(settings: SettingsDep) -> str:
    return settings.storage_url


StorageUrl = Annotated[str, Depends(get_storage_url)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


def require_token(settings: SettingsDep, credentials: Credentials) -> None:
    """The request carries the API token (``Authorization: Bearer <token>``)."""
    if credentials is None:
        raise _unauthorized("this request needs the API token: Authorization: Bearer <token>")
    if not hmac.compare_digest(credentials.credentials.encode(), settings.token_value.encode()):
        raise _unauthorized("the API token is not valid")


def token_guard(needed: bool) -> dict[str, Any]:
    """``include_router`` arguments that make a router's routes need the token (and say so in
    the OpenAPI document: security and a 401), or none."""
    if not needed:
        return {}
    return {"dependencies": [Depends(require_token)], "responses": documented(401)}
