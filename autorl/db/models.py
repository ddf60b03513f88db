"""The autorl tables: tasks, families, task features, study links, and population-based
training's runs, segments and checkpoints.

They live beside Optuna's tables in the same database, every name prefixed ``autorl_``.
Only :mod:`autorl.db.repo` handles these rows; everything else gets ``autorl.types``.

The schema is created and changed by the migrations in ``storage/migrations/`` (never by
``create_all``); a change here needs a new revision there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

TABLE_PREFIX = "autorl_"

# Deterministic constraint names: migrations can name (and later drop or alter) them on
# PostgreSQL. ``storage/migrations/versions`` spells the same names out by hand.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of the autorl tables (its own MetaData, apart from Optuna's)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON}


class FamilyRow(Base):
    """A task family: a label grouping tasks whose good configurations should transfer."""

    __tablename__ = "autorl_families"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TaskRow(Base):
    """An environment, identified by ``TaskSpec.key()``; ``spec`` is ``to_dict()`` less family."""

    __tablename__ = "autorl_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    env_id: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    families: Mapped[list[FamilyRow]] = relationship(
        secondary="autorl_family_tasks", order_by=FamilyRow.name, viewonly=True, lazy="raise"
    )
    features: Mapped[TaskFeaturesRow | None] = relationship(lazy="raise", viewonly=True)


class FamilyTaskRow(Base):
    """Membership of a task in a family (a task may belong to several)."""

    __tablename__ = "autorl_family_tasks"

    family_id: Mapped[int] = mapped_column(
        ForeignKey("autorl_families.id", ondelete="CASCADE"), primary_key=True
    )
    task_id: Mapped[int] = mapped_column(
        ForeignKey("autorl_tasks.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TaskFeaturesRow(Base):
    """A task's probed features (``TaskFeatures.to_dict()``), one row per task."""

    __tablename__ = "autorl_task_features"

    task_id: Mapped[int] = mapped_column(
        ForeignKey("autorl_tasks.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer)
    features: Mapped[dict[str, Any]] = mapped_column(JSON)
    probed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class StudyTaskRow(Base):
    """Which task and algorithm an Optuna study (by its unique name) tunes."""

    __tablename__ = "autorl_study_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_name: Mapped[str] = mapped_column(String(512), unique=True)
    task_id: Mapped[int] = mapped_column(
        ForeignKey("autorl_tasks.id", ondelete="CASCADE"), index=True
    )
    algo: Mapped[str] = mapped_column(String(64))
    family_id: Mapped[int | None] = mapped_column(
        ForeignKey("autorl_families.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PbtRunRow(Base):
    """A population-based training run: its task, algorithm, settings and state."""

    __tablename__ = "autorl_pbt_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(512), unique=True)
    task_id: Mapped[int] = mapped_column(
        ForeignKey("autorl_tasks.id", ondelete="CASCADE"), index=True
    )
    algo: Mapped[str] = mapped_column(String(64))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PbtSegmentRow(Base):
    """One member's training from one step boundary to the next, with the values it used,
    whose checkpoint it started from (the lineage) and how it scored."""

    __tablename__ = "autorl_pbt_segments"
    __table_args__ = (UniqueConstraint("run_id", "member", "generation"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("autorl_pbt_runs.id", ondelete="CASCADE"))
    member: Mapped[int] = mapped_column(Integer)
    generation: Mapped[int] = mapped_column(Integer)
    start_step: Mapped[int] = mapped_column(Integer)
    until_step: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_member: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    worker: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    score: Mapped[float | None] = mapped_column(Float)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PbtCheckpointRow(Base):
    """A member's checkpoint after a generation (``autorl.training.segments`` bytes)."""

    __tablename__ = "autorl_pbt_checkpoints"
    __table_args__ = (UniqueConstraint("run_id", "member", "generation"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("autorl_pbt_runs.id", ondelete="CASCADE"))
    member: Mapped[int] = mapped_column(Integer)
    generation: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
