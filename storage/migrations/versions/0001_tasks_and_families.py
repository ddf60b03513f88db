"""Tasks, families, task features and study links.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Written by hand. Constraint names follow ``autorl.db.models.NAMING_CONVENTION`` and are
spelled out, so this revision stays what it is when the models change.
Only ``autorl_*`` tables may be touched here: Optuna's tables share the database.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at(name: str = "created_at") -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    """Create the five autorl tables."""
    op.create_table(
        "autorl_families",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_autorl_families"),
        sa.UniqueConstraint("name", name="uq_autorl_families_name"),
    )
    op.create_table(
        "autorl_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("env_id", sa.String(length=200), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_autorl_tasks"),
        sa.UniqueConstraint("key", name="uq_autorl_tasks_key"),
    )
    op.create_table(
        "autorl_family_tasks",
        sa.Column("family_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["family_id"],
            ["autorl_families.id"],
            name="fk_autorl_family_tasks_family_id_autorl_families",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["autorl_tasks.id"],
            name="fk_autorl_family_tasks_task_id_autorl_tasks",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("family_id", "task_id", name="pk_autorl_family_tasks"),
    )
    op.create_index("ix_autorl_family_tasks_task_id", "autorl_family_tasks", ["task_id"])
    op.create_table(
        "autorl_task_features",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        _created_at("probed_at"),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["autorl_tasks.id"],
            name="fk_autorl_task_features_task_id_autorl_tasks",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", name="pk_autorl_task_features"),
    )
    op.create_table(
        "autorl_study_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_name", sa.String(length=512), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("algo", sa.String(length=64), nullable=False),
        sa.Column("family_id", sa.Integer(), nullable=True),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["autorl_tasks.id"],
            name="fk_autorl_study_tasks_task_id_autorl_tasks",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["family_id"],
            ["autorl_families.id"],
            name="fk_autorl_study_tasks_family_id_autorl_families",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_autorl_study_tasks"),
        sa.UniqueConstraint("study_name", name="uq_autorl_study_tasks_study_name"),
    )
    op.create_index("ix_autorl_study_tasks_task_id", "autorl_study_tasks", ["task_id"])
    op.create_index("ix_autorl_study_tasks_family_id", "autorl_study_tasks", ["family_id"])


def downgrade() -> None:
    """Drop the five autorl tables (and everything stored in them)."""
    op.drop_index("ix_autorl_study_tasks_family_id", table_name="autorl_study_tasks")
    op.drop_index("ix_autorl_study_tasks_task_id", table_name="autorl_study_tasks")
    op.drop_table("autorl_study_tasks")
    op.drop_table("autorl_task_features")
    op.drop_index("ix_autorl_family_tasks_task_id", table_name="autorl_family_tasks")
    op.drop_table("autorl_family_tasks")
    op.drop_table("autorl_tasks")
    op.drop_table("autorl_families")
