"""Dependencies of the routes, as ``Annotated`` aliases (settings, storage), the token
check that ``create_app`` puts on the routers that need it, and the strict reading of a
request that every router has."""

from __future__ import annotations

import hmac
import json
from typing import Annotated, Any

import optuna
from fastapi import Depends, HTTPException, Request, status
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
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


def _declared(dependant: Dependant) -> tuple[set[str], bool]:
    """The query parameters a route declares (its dependencies' too), and whether it takes a
    body."""
    names, takes_body = {p.alias for p in dependant.query_params}, bool(dependant.body_params)
    for sub in dependant.dependencies:
        sub_names, sub_body = _declared(sub)
        names, takes_body = names | sub_names, takes_body or sub_body
    return names, takes_body


async def strict_request(request: Request) -> None:
    """Refuse (422) what a route would otherwise ignore: a query parameter it does not
    declare (``?limt=5`` would answer with the default limit, ``?algo=`` unfiltered), or a
    body sent to a route that takes none (a pause with ``{bad`` or ``{"force": true}``). An
    empty body, or ``{}``, is no body."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed, takes_body = _declared(route.dependant)
    problems: list[dict[str, Any]] = [
        {"type": "unknown_parameter", "loc": ("query", name), "msg": "unknown query parameter"}
        for name in dict.fromkeys(request.query_params)
        if name not in allowed
    ]
    if not takes_body:
        raw = (await request.body()).strip()
        try:
            empty = not raw or json.loads(raw) == {}
        except ValueError:
            empty = False
        if not empty:
            problems.append(
                {"type": "no_body", "loc": ("body",), "msg": "this request takes no body"}
            )
    if problems:
        raise RequestValidationError(problems)
