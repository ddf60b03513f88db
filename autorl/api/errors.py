"""Errors as JSON: every refusal says what to change; only genuine bugs answer 500.

Bodies are ``ErrorBody``: ``{"detail": message, "error": kind}`` (validation adds
``problems``). Library errors map by class; the API's own refusals (unknown study, conflicting
state, limits) are the classes below; ``documented`` is what a route's OpenAPI entry says.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from autorl.api.schemas import ErrorBody
from autorl.errors import (
    AutoRLError,
    FamilyError,
    IncompatibleAlgorithm,
    SchemaError,
    SpaceError,
    StorageUnreachable,
    StudyError,
    TaskError,
    UsageError,
)

log = logging.getLogger(__name__)


class NotFound(AutoRLError):
    """The named study or family is not in this storage (404)."""


class Conflict(AutoRLError):
    """The request contradicts the stored state: cancelled study, smaller budget ... (409)."""


class Unprocessable(AutoRLError):
    """The request is well-formed but refused: a limit, an entry point not allowed ... (422)."""


class TooMany(AutoRLError):
    """A server-wide limit is reached; retry once some work is done (429)."""


class StorageUnavailable(AutoRLError):
    """The storage cannot be reached or its schema needs an upgrade (503)."""


# Most specific first: the first class an error is an instance of decides its status.
STATUS: tuple[tuple[type[AutoRLError], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (TooMany, 429),
    (StorageUnavailable, 503),
    (StorageUnreachable, 503),
    (SchemaError, 503),
    (Unprocessable, 422),
    (SpaceError, 422),
    (TaskError, 422),
    (IncompatibleAlgorithm, 422),
    (FamilyError, 422),
    (UsageError, 422),
    (StudyError, 409),  # a study that cannot be created or continued as asked
)


# What each refusal status means, as the OpenAPI document says it.
MEANINGS: dict[int, str] = {
    400: "the request body cannot be read (not UTF-8)",
    401: "the API token is missing or not valid (error: unauthorized)",
    404: "no study (or family) of that name in this storage",
    409: "the request contradicts the stored state: a cancelled study, a smaller budget, "
    "other settings under the same name, a family tuned with several algorithms",
    422: "malformed (error: validation, one entry per field in problems: a query parameter "
    "the route does not have, a body sent to a route that takes none included), or refused "
    "before anything is stored: a server limit, an unknown environment, an entry point not "
    "allowed, a search space or option that cannot make a study",
    429: "this server's limit of open studies (AUTORL_API_MAX_CONCURRENT_STUDIES) is reached",
    503: "the storage cannot be reached or its schema needs an upgrade; retry later",
}
AUTHENTICATE = {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a route that may refuse with these statuses."""
    return {
        status: {
            "model": ErrorBody,
            "description": MEANINGS[status],
            **({"headers": AUTHENTICATE} if status == 401 else {}),
        }
        for status in statuses
    }


def status_for(exc: AutoRLError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def error_response(
    status: int,
    detail: str,
    kind: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    content = {"detail": detail, "error": kind, **extra}
    return JSONResponse(status_code=status, content=content, headers=headers)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
        return ".".join(parts) if parts else "body"
    if parts and parts[0] in ("query", "path", "header"):
        return f"{parts[0]} parameter {'.'.join(parts[1:])}"
    return ".".join(parts)


def describe(error: dict[str, Any]) -> str:
    """One validation problem as ``field: what is wrong``."""
    kind = error.get("type", "")
    if kind == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "malformed")
        return f"the request body is not valid JSON ({reason})"
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        message = "unknown field (not part of this request's schema)"
    where = _location(tuple(error.get("loc", ())))
    return f"{where}: {message}" if where and where != "body" else message


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [describe(e) for e in exc.errors()]
    return error_response(
        422,
        "; ".join(problems),
        "validation",
        problems=problems,
    )


async def _autorl_error(_: Request, exc: Exception) -> JSONResponse:
    status = status_for(exc) if isinstance(exc, AutoRLError) else 400
    return error_response(status, str(exc), type(exc).__name__)


def _allowed_methods(request: Request) -> str:
    """The methods the OpenAPI document lists at the request's path (Starlette's 405 names
    only those of the first route that matched)."""
    for template, operations in request.app.openapi()["paths"].items():
        pattern, _format, _convertors = compile_path(template)
        if pattern.match(request.scope["path"]):
            return ", ".join(sorted(method.upper() for method in operations))
    return ""


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """Starlette's and FastAPI's own refusals (401 of the token check, 404, 405) as ErrorBody."""
    try:
        kind = HTTPStatus(exc.status_code).name.lower()
    except ValueError:  # not a standard status
        kind = "http"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return error_response(exc.status_code, str(exc.detail), kind, headers=headers)


async def _database_down(_: Request, exc: Exception) -> JSONResponse:
    log.warning("storage unreachable: %s", exc)
    return error_response(503, "the storage database cannot be reached; retry later", "storage")


async def _bug(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal error (logged on the server)", "internal")


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(AutoRLError, _autorl_error)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(Exception, _bug)
