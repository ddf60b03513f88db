"""The published OpenAPI document: FastAPI's, made to say what this server accepts.

- This server's limits (``AUTORL_API_MAX_TRIALS``, ``AUTORL_API_MAX_TIMESTEPS``) are the
  request schemas' maxima, so a request within the schema is within the limits.
- FastAPI's default 422 (``HTTPValidationError``, which this API never sends) is dropped:
  each route that can answer 422 documents ``ErrorBody`` itself (``errors.documented``).
- Refusals are JSON on every route, ``/metrics`` (text) included.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from autorl.api.settings import ApiSettings

FASTAPI_422 = "#/components/schemas/HTTPValidationError"
ERROR_BODY = "#/components/schemas/ErrorBody"
JSON = "application/json"
FASTAPI_MODELS = ("HTTPValidationError", "ValidationError")


def install(app: FastAPI, settings: ApiSettings) -> None:
    """Serve ``document(app, settings)`` at ``/openapi.json`` (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app, settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(app: FastAPI, settings: ApiSettings) -> dict[str, Any]:
    """FastAPI's OpenAPI document of ``app``, corrected as the module docstring says."""
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes
    )
    _drop_fastapi_422(schema)
    _errors_as_json(schema)
    models = schema.get("components", {}).get("schemas", {})
    _cap(models, "StudyCreate", "trials", settings.max_trials)
    _cap(models, "StudyCreate", "timesteps", settings.max_timesteps)
    _cap(models, "BudgetUpdate", "trials", settings.max_trials)
    return schema


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for operations in schema.get("paths", {}).values() for op in operations.values()]


def _drop_fastapi_422(schema: dict[str, Any]) -> None:
    for operation in _operations(schema):
        responses = operation.get("responses", {})
        content = responses.get("422", {}).get("content", {})
        if content.get(JSON, {}).get("schema", {}).get("$ref") == FASTAPI_422:
            del responses["422"]
    models = schema.get("components", {}).get("schemas", {})
    for name in FASTAPI_MODELS:
        models.pop(name, None)


def _errors_as_json(schema: dict[str, Any]) -> None:
    """FastAPI documents a route's extra responses in its own media type (text for
    ``/metrics``); ``ErrorBody`` is always sent as JSON."""
    for operation in _operations(schema):
        for response in operation.get("responses", {}).values():
            content = response.get("content", {})
            for media_type in [m for m in content if m != JSON]:
                if content[media_type].get("schema", {}).get("$ref") == ERROR_BODY:
                    content[JSON] = content.pop(media_type)


def _cap(models: dict[str, Any], model: str, field: str, limit: int) -> None:
    """Lower ``model.field``'s maximum to ``limit``."""
    prop = models[model]["properties"][field]
    prop["maximum"] = min(prop.get("maximum", limit), limit)
