"""autorl's own tables (tasks, families, task features, study links) beside Optuna's.

Plain data in and out: the functions take and return the dataclasses of ``autorl.types``.
The schema is versioned by Alembic (``storage/migrations/``) in ``autorl_alembic_version``.
Modules: ``engine`` (one engine per URL and process, SQLAlchemy core only: all a listing
needs), ``schema`` (create and upgrade), ``models`` and ``repo`` (the ORM, its reads and
writes). The names below load their module on first use, so that ``autorl.db.engine`` alone
stays cheap to import (the ORM and the schema code cost 0.3 s).
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULE_OF = {
    "dispose_engines": "engine",
    "get_engine": "engine",
    "session_scope": "engine",
    "get_study_link": "repo",
    "get_task": "repo",
    "link_study": "repo",
    "list_families": "repo",
    "list_tasks": "repo",
    "register_task": "repo",
    "set_features": "repo",
    "study_links": "repo",
    "study_random_return": "repo",
    "VERSION_TABLE": "schema",
    "clear_schema_cache": "schema",
    "current_revision": "schema",
    "ensure_schema": "schema",
    "head_revision": "schema",
    "upgrade": "schema",
}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
    globals()[name] = value
    return value
