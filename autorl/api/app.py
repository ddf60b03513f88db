"""The FastAPI application: ``create_app(settings)``; nothing happens at import time.

The API validates, stores and queues; ``autorl worker`` processes run the trials. It never
imports torch or Stable-Baselines3 (``tests/unit/test_api_no_torch.py`` holds it to that).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Depends, FastAPI

from autorl.api import errors, openapi
from autorl.api.deps import strict_request, token_guard
from autorl.api.errors import documented
from autorl.api.result_cache import ResultCache
from autorl.api.routes import families, health, metrics, studies
from autorl.api.settings import ApiSettings
from autorl.api.store import StorageCache

log = logging.getLogger(__name__)


def _guards(token_needed: bool) -> dict[str, Any]:
    """``include_router`` arguments: the token check where it is needed, then the strict
    reading of every request (``deps.strict_request``), each with its refusal documented."""
    guard = token_guard(token_needed)
    return {
        "dependencies": [*guard.get("dependencies", []), Depends(strict_request)],
        "responses": {**documented(422), **guard.get("responses", {})},
    }


def create_app(settings: ApiSettings) -> FastAPI:
    """An app serving ``settings.storage_url``; the storage is opened on first use."""
    app = FastAPI(
        title="autorl",
        summary="Hyperparameter search for reinforcement learning: submit studies, read results.",
        version="1",
    )
    app.state.settings = settings
    app.state.storage = StorageCache(settings.storage_url)
    app.state.results = ResultCache()
    errors.install(app)
    # Writes need the token (open only in development without one); reads too unless open.
    # The guard declares what it enforces: security and a 401 in the OpenAPI document.
    writes_guarded = bool(settings.token_value)
    reads_guarded = writes_guarded and not settings.open_reads
    app.include_router(health.router, **_guards(False))  # always open: a probe needs no token
    for reads in (studies.reads, families.reads, metrics.reads):
        app.include_router(reads, **_guards(reads_guarded))
    app.include_router(studies.writes, **_guards(writes_guarded))
    openapi.install(app, settings)
    if settings.dev and not settings.token_value:
        log.warning("development mode without AUTORL_API_TOKEN: writes are open to anyone")
    elif settings.dev:
        log.warning("development mode (AUTORL_API_DEV): a placeholder or short token is accepted")
    return app
