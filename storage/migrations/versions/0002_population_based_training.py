"""Population-based training: runs, segments (with lineage and scores) and checkpoints.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06

Written by hand; constraint names follow ``autorl.db.models.NAMING_CONVENTION``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _run_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["run_id"],
        ["autorl_pbt_runs.id"],
        name=f"fk_{table}_run_id_autorl_pbt_runs",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    """Create the three PBT tables."""
    op.create_table(
        "autorl_pbt_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("algo", sa.String(length=64), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["autorl_tasks.id"],
            name="fk_autorl_pbt_runs_task_id_autorl_tasks",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_autorl_pbt_runs"),
        sa.UniqueConstraint("name", name="uq_autorl_pbt_runs_name"),
    )
    op.create_index("ix_autorl_pbt_runs_task_id", "autorl_pbt_runs", ["task_id"])
    op.create_table(
        "autorl_pbt_segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("member", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("start_step", sa.Integer(), nullable=False),
        sa.Column("until_step", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("source_member", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        _run_fk("autorl_pbt_segments"),
        sa.PrimaryKeyConstraint("id", name="pk_autorl_pbt_segments"),
        sa.UniqueConstraint(
            "run_id", "member", "generation", name="uq_autorl_pbt_segments_run_id_member_generation"
        ),
    )
    op.create_table(
        "autorl_pbt_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("member", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        _run_fk("autorl_pbt_checkpoints"),
        sa.PrimaryKeyConstraint("id", name="pk_autorl_pbt_checkpoints"),
        sa.UniqueConstraint(
            "run_id",
            "member",
            "generation",
            name="uq_autorl_pbt_checkpoints_run_id_member_generation",
        ),
    )


def downgrade() -> None:
    """Drop the three PBT tables (and every run stored in them)."""
    op.drop_table("autorl_pbt_checkpoints")
    op.drop_table("autorl_pbt_segments")
    op.drop_index("ix_autorl_pbt_runs_task_id", table_name="autorl_pbt_runs")
    op.drop_table("autorl_pbt_runs")
