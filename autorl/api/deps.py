"""Dependencies of the routes, as ``Annotated`` aliases: settings, storage, authentication."""

from __future__ import annotations

import hmac
from typing import Annotated

import optuna
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

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


def _check_token(settings: ApiSettings, credentials: HTTPAuthorizationCredentials | None) -> None:
    expected = settings.token_value
    if not expected and settings.dev:
        return  # development without a token: open
    if credentials is None:
        raise _unauthorized("this request needs the API token: Authorization: Bearer <token>")
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise _unauthorized("the API token is not valid")


def require_write(settings: SettingsDep, credentials: Credentials) -> None:
    """Writes always need the token."""
    _check_token(settings, credentials)


def require_read(settings: SettingsDep, credentials: Credentials) -> None:
    """Reads need the token unless ``open_reads``."""
    if not settings.open_reads:
        _check_token(settings, credentials)


WriteAuth = Annotated[None, Depends(require_write)]
ReadAuth = Annotated[None, Depends(require_read)]
