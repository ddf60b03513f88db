"""autorl's own tables (tasks, families, task features, study links) beside Optuna's.

Plain data in and out: the functions take and return the dataclasses of ``autorl.types``.
The schema is versioned by Alembic (``storage/migrations/``) in ``autorl_alembic_version``.
"""

from autorl.db.engine import dispose_engines, get_engine, session_scope
from autorl.db.repo import (
    get_study_link,
    get_task,
    link_study,
    list_families,
    list_tasks,
    register_task,
    set_features,
    study_links,
)
from autorl.db.schema import (
    VERSION_TABLE,
    clear_schema_cache,
    current_revision,
    ensure_schema,
    head_revision,
    upgrade,
)

__all__ = [
    "VERSION_TABLE",
    "clear_schema_cache",
    "current_revision",
    "dispose_engines",
    "ensure_schema",
    "get_engine",
    "get_study_link",
    "get_task",
    "head_revision",
    "link_study",
    "list_families",
    "list_tasks",
    "register_task",
    "session_scope",
    "set_features",
    "study_links",
    "upgrade",
]
