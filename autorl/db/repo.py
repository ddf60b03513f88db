"""Read and write tasks, families, task features and study links: plain data in and out.

The only module that sees ORM rows. Every public function takes a storage URL, makes sure
the schema is usable (:func:`autorl.db.schema.ensure_schema`) and returns the dataclasses of
:mod:`autorl.types`. Writes are idempotent and safe when several workers make them at once:
a unique-key race is retried, and the second attempt finds what the other process wrote.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from autorl.db.engine import session_scope
from autorl.db.models import FamilyRow, FamilyTaskRow, StudyTaskRow, TaskFeaturesRow, TaskRow
from autorl.db.schema import ensure_schema
from autorl.errors import AutoRLError, StudyError
from autorl.types import StudyLink, TaskFeatures, TaskRecord, TaskSpec

log = logging.getLogger(__name__)

T = TypeVar("T")

_WRITE_ATTEMPTS = 3


def _write(url: str, work: Callable[[Session], T]) -> T:
    """Run ``work`` in one transaction; rerun it if another process won a unique-key race."""
    for attempt in range(1, _WRITE_ATTEMPTS + 1):
        try:
            with session_scope(url) as session:
                return work(session)
        except IntegrityError:
            if attempt == _WRITE_ATTEMPTS:
                raise
            log.debug("write conflict in %s (attempt %d); retrying", work.__name__, attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _spec_data(spec: TaskSpec) -> dict[str, Any]:
    """``spec.to_dict()`` without the family label, as plain JSON values."""
    data = spec.to_dict()
    data.pop("family", None)
    try:
        return json.loads(json.dumps(data, sort_keys=True))
    except (TypeError, ValueError) as exc:
        raise AutoRLError(
            f"task {spec.env_id}: env_kwargs and env_attrs must be JSON values "
            f"(numbers, strings, booleans, lists, objects) to be stored: {exc}"
        ) from None


def _check_family_name(name: str) -> str:
    if not name or not name.strip():
        raise AutoRLError("a task family needs a non-empty name")
    return name


def _to_record(row: TaskRow) -> TaskRecord:
    return TaskRecord(
        key=row.key,
        spec=TaskSpec.from_dict(row.spec),
        families=tuple(f.name for f in row.families),
        features=None if row.features is None else TaskFeatures.from_dict(row.features.features),
    )


def _tasks_query() -> Select[tuple[TaskRow]]:
    return (
        select(TaskRow)
        .options(selectinload(TaskRow.families), selectinload(TaskRow.features))
        .execution_options(populate_existing=True)
        .order_by(TaskRow.created_at, TaskRow.id)
    )


def _task_row(session: Session, key: str) -> TaskRow | None:
    return session.scalar(select(TaskRow).where(TaskRow.key == key))


def _family_row(session: Session, name: str) -> FamilyRow:
    """The family called ``name``, created if needed."""
    row = session.scalar(select(FamilyRow).where(FamilyRow.name == name))
    if row is None:
        row = FamilyRow(name=_check_family_name(name))
        session.add(row)
        session.flush()
    return row


def _add_to_family(session: Session, family: FamilyRow, task: TaskRow) -> None:
    if session.get(FamilyTaskRow, (family.id, task.id)) is None:
        session.add(FamilyTaskRow(family_id=family.id, task_id=task.id))
        session.flush()


def _unknown_task(key: str, doing: str) -> AutoRLError:
    return AutoRLError(
        f"{doing}: no task with key {key!r} is registered; register it first "
        "(autorl.db.repo.register_task(url, spec), or tune it once)"
    )


def register_task(url: str, spec: TaskSpec, family: str | None = None) -> TaskRecord:
    """Store the task of ``spec`` (once, by ``spec.key()``), in ``family`` if given.

    Registering again is a no-op, or adds the task to another family. Returns the stored
    record: its spec (without a family label), every family it belongs to (by name), and its
    features if it was probed.
    """
    ensure_schema(url)
    key = spec.key()
    data = _spec_data(spec)

    def register(session: Session) -> TaskRecord:
        task = _task_row(session, key)
        if task is None:
            task = TaskRow(key=key, env_id=spec.env_id, spec=data)
            session.add(task)
            session.flush()
            log.info("registered task %s (%s)", key, spec.env_id)
        elif task.spec != data:
            raise AutoRLError(
                f"task key {key} is already taken by a different environment ({task.spec}); "
                "change env_kwargs or env_attrs slightly to tell them apart"
            )
        if family is not None:
            _add_to_family(session, _family_row(session, family), task)
        return _to_record(session.scalars(_tasks_query().where(TaskRow.key == key)).one())

    return _write(url, register)


def set_features(url: str, key: str, features: TaskFeatures) -> None:
    """Store (or replace) the probed features of the registered task ``key``."""
    ensure_schema(url)
    data = json.loads(json.dumps(features.to_dict()))

    def store(session: Session) -> None:
        task = _task_row(session, key)
        if task is None:
            raise _unknown_task(key, "cannot store task features")
        row = session.get(TaskFeaturesRow, task.id)
        if row is None:
            session.add(TaskFeaturesRow(task_id=task.id, version=features.version, features=data))
        else:
            row.version = features.version
            row.features = data
            row.probed_at = datetime.now(timezone.utc)

    _write(url, store)


def get_task(url: str, key: str) -> TaskRecord | None:
    """The task registered under ``key``, or None."""
    ensure_schema(url)
    with session_scope(url) as session:
        row = session.scalars(_tasks_query().where(TaskRow.key == key)).one_or_none()
        return None if row is None else _to_record(row)


def list_tasks(url: str, family: str | None = None) -> list[TaskRecord]:
    """Every registered task (of ``family`` if given), oldest first."""
    ensure_schema(url)
    query = _tasks_query()
    if family is not None:
        query = (
            query.join(FamilyTaskRow, FamilyTaskRow.task_id == TaskRow.id)
            .join(FamilyRow, FamilyRow.id == FamilyTaskRow.family_id)
            .where(FamilyRow.name == family)
        )
    with session_scope(url) as session:
        return [_to_record(row) for row in session.scalars(query)]


def list_families(url: str) -> list[tuple[str, int]]:
    """Every family by name, with its number of tasks."""
    ensure_schema(url)
    query = (
        select(FamilyRow.name, func.count(FamilyTaskRow.task_id))
        .outerjoin(FamilyTaskRow, FamilyTaskRow.family_id == FamilyRow.id)
        .group_by(FamilyRow.id, FamilyRow.name)
        .order_by(FamilyRow.name)
    )
    with session_scope(url) as session:
        return [(name, int(count)) for name, count in session.execute(query)]


def _links_query() -> Select[tuple[str, str, str, str | None]]:
    return (
        select(StudyTaskRow.study_name, TaskRow.key, StudyTaskRow.algo, FamilyRow.name)
        .join(TaskRow, TaskRow.id == StudyTaskRow.task_id)
        .outerjoin(FamilyRow, FamilyRow.id == StudyTaskRow.family_id)
        .order_by(StudyTaskRow.created_at, StudyTaskRow.id)
    )


def _to_link(row: Any) -> StudyLink:
    study_name, task_key, algo, family = row
    return StudyLink(study_name=study_name, task_key=task_key, algo=algo, family=family)


def link_study(url: str, link: StudyLink) -> None:
    """Record which task (and algorithm, and family) the Optuna study ``link.study_name`` tunes.

    The task must be registered. A family given is created if needed and the task added to it.
    Linking the same study again the same way is a no-op; another way is a StudyError.
    """
    ensure_schema(url)

    def store(session: Session) -> None:
        task = _task_row(session, link.task_key)
        if task is None:
            raise _unknown_task(link.task_key, f"cannot link study {link.study_name!r}")
        family = None
        if link.family is not None:
            family = _family_row(session, link.family)
            _add_to_family(session, family, task)
        existing = session.execute(
            _links_query().where(StudyTaskRow.study_name == link.study_name)
        ).one_or_none()
        if existing is None:
            session.add(
                StudyTaskRow(
                    study_name=link.study_name,
                    task_id=task.id,
                    algo=link.algo,
                    family_id=None if family is None else family.id,
                )
            )
            log.info("linked study %s to task %s (%s)", link.study_name, task.key, link.algo)
        elif _to_link(existing) != link:
            raise StudyError(
                f"study {link.study_name!r} is already linked to {_to_link(existing)}, not "
                f"{link}; a study tunes one task with one algorithm: use another study name"
            )

    _write(url, store)


def study_links(
    url: str,
    task_key: str | None = None,
    family: str | None = None,
    algo: str | None = None,
) -> list[StudyLink]:
    """Stored study links, oldest first, filtered by task, family (started under) and algo."""
    ensure_schema(url)
    query = _links_query()
    if task_key is not None:
        query = query.where(TaskRow.key == task_key)
    if family is not None:
        query = query.where(FamilyRow.name == family)
    if algo is not None:
        query = query.where(StudyTaskRow.algo == algo)
    with session_scope(url) as session:
        return [_to_link(row) for row in session.execute(query)]


def get_study_link(url: str, study_name: str) -> StudyLink | None:
    """The link of the study called ``study_name``, or None."""
    ensure_schema(url)
    with session_scope(url) as session:
        row = session.execute(
            _links_query().where(StudyTaskRow.study_name == study_name)
        ).one_or_none()
        return None if row is None else _to_link(row)


def study_random_return(url: str, study_name: str) -> float | None:
    """The random policy's return on the task of the study ``study_name``, where it was
    probed (None: no link, or no features)."""
    link = get_study_link(url, study_name)
    record = get_task(url, link.task_key) if link else None
    return None if record is None or record.features is None else record.features.random_return_mean
