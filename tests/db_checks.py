"""Checks on autorl's own tables shared by the SQLite and PostgreSQL tests."""

from __future__ import annotations

import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from autorl.db import schema
from autorl.db.models import Base


def migration_drift(url: str) -> list:
    """Differences between the migrated database and the models (empty: they agree)."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "include_name": schema.include_name,
                    "include_object": schema.include_object,
                    "compare_type": True,
                },
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()
