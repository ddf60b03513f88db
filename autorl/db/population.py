"""Population-based training's rows: runs, segments, checkpoints. Plain data in and out.

Like :mod:`autorl.db.repo` (the registry), the only other module that sees ORM rows. Every
write is one transaction and safe when many workers make it at once: a segment is claimed
with a conditional UPDATE (the first worker wins); a stale claim (no heartbeat for
``stale_after_s``) may be taken over, and the first claimant's late result is then refused;
a generation's next segments are inserted once, under their unique key.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from autorl.db.engine import session_scope
from autorl.db.models import PbtCheckpointRow, PbtRunRow, PbtSegmentRow, TaskRow
from autorl.db.repo import register_task
from autorl.db.schema import ensure_schema
from autorl.errors import StudyError
from autorl.pbt.records import DONE, FAILED, QUEUED, RUNNING, PbtRun, PbtSettings, Segment
from autorl.types import TaskSpec

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _run(row: PbtRunRow) -> PbtRun:
    data = row.settings
    return PbtRun(
        id=row.id,
        name=row.name,
        task=TaskSpec.from_dict(data["task"]),
        algo=row.algo,
        action_kind=data["action_kind"],
        settings=PbtSettings.from_dict(data["pbt"]),
        space=data["space"],
        state=row.state,
        message=row.message,
    )


def _segment(row: PbtSegmentRow) -> Segment:
    return Segment(
        id=row.id,
        run_id=row.run_id,
        member=row.member,
        generation=row.generation,
        start_step=row.start_step,
        until_step=row.until_step,
        params=dict(row.params),
        source_member=row.source_member,
        status=row.status,
        worker=row.worker,
        score=row.score,
        result=dict(row.result or {}),
        error=row.error,
    )


def create_run(
    url: str,
    name: str,
    task: TaskSpec,
    algo: str,
    action_kind: str,
    settings: PbtSettings,
    space: Mapping[str, Any],
    initial: list[Mapping[str, Any]],
    warm_start: list[str] | None = None,
) -> PbtRun:
    """Store a new run and its first generation (member i trains ``initial[i]``;
    ``warm_start``: where the first members' configurations came from)."""
    if len(initial) != settings.population:
        raise ValueError(f"{len(initial)} initial configurations for {settings.population} members")
    record = register_task(url, task)
    data = {
        "task": task.to_dict(),
        "action_kind": action_kind,
        "pbt": settings.to_dict(),
        "space": dict(space),
        "warm_start": list(warm_start or []),
    }
    first = settings.boundaries()[0]
    try:
        with session_scope(url) as session:
            task_id = session.scalars(select(TaskRow.id).where(TaskRow.key == record.key)).one()
            row = PbtRunRow(name=name, task_id=task_id, algo=algo, settings=data, state=RUNNING)
            session.add(row)
            session.flush()
            for member, params in enumerate(initial):
                session.add(_segment_row(row.id, member, 0, 0, first, params, None))
            session.flush()
            return _run(row)
    except IntegrityError:
        raise StudyError(
            f"a population-based training run named {name!r} exists already: resume it with "
            f"`autorl pbt --resume {name}` or pick another --name"
        ) from None


def _segment_row(
    run_id: int,
    member: int,
    generation: int,
    start: int,
    until: int,
    params: Mapping[str, Any],
    source: int | None,
) -> PbtSegmentRow:
    return PbtSegmentRow(
        run_id=run_id,
        member=member,
        generation=generation,
        start_step=start,
        until_step=until,
        params=dict(params),
        source_member=source,
        status=QUEUED,
    )


def get_run(url: str, name: str) -> PbtRun | None:
    ensure_schema(url)
    with session_scope(url) as session:
        row = session.scalars(select(PbtRunRow).where(PbtRunRow.name == name)).one_or_none()
        return None if row is None else _run(row)


def list_runs(url: str) -> list[PbtRun]:
    ensure_schema(url)
    with session_scope(url) as session:
        return [_run(r) for r in session.scalars(select(PbtRunRow).order_by(PbtRunRow.id))]


def set_state(url: str, run_id: int, state: str, message: str | None = None) -> None:
    with session_scope(url) as session:
        session.execute(
            update(PbtRunRow)
            .execution_options(synchronize_session=False)
            .where(PbtRunRow.id == run_id)
            .values(state=state, message=message)
        )


def segments(url: str, run_id: int, generation: int | None = None) -> list[Segment]:
    """The run's segments (of one generation), by generation then member."""
    query = select(PbtSegmentRow).where(PbtSegmentRow.run_id == run_id)
    if generation is not None:
        query = query.where(PbtSegmentRow.generation == generation)
    with session_scope(url) as session:
        rows = session.scalars(query.order_by(PbtSegmentRow.generation, PbtSegmentRow.member))
        return [_segment(r) for r in rows]


def claim_segment(url: str, run_id: int, worker: str, stale_after_s: float) -> Segment | None:
    """Claim the run's first queued segment, or one whose worker stopped beating; None when
    there is nothing to take."""
    stale = _now() - timedelta(seconds=stale_after_s)
    claimable = and_(
        PbtSegmentRow.run_id == run_id,
        or_(
            PbtSegmentRow.status == QUEUED,
            and_(PbtSegmentRow.status == RUNNING, PbtSegmentRow.heartbeat_at < stale),
        ),
    )
    for _ in range(8):  # another worker may win each race; try the next candidate
        with session_scope(url) as session:
            candidate = session.scalars(
                select(PbtSegmentRow)
                .where(claimable)
                .order_by(PbtSegmentRow.generation, PbtSegmentRow.member)
                .limit(1)
            ).one_or_none()
            if candidate is None:
                return None
            if candidate.status == RUNNING:
                log.warning(
                    "member %d generation %d: worker %s stopped beating; taking it over",
                    candidate.member,
                    candidate.generation,
                    candidate.worker,
                )
            taken = session.execute(
                update(PbtSegmentRow)
                .execution_options(synchronize_session=False)
                .where(PbtSegmentRow.id == candidate.id, claimable)
                .values(status=RUNNING, worker=worker, heartbeat_at=_now())
            )
            if taken.rowcount == 1:
                session.flush()
                session.refresh(candidate)
                return _segment(candidate)
    return None


def _owned(segment_id: int, worker: str) -> Any:
    return and_(
        PbtSegmentRow.id == segment_id,
        PbtSegmentRow.status == RUNNING,
        PbtSegmentRow.worker == worker,
    )


def beat(url: str, segment_id: int, worker: str) -> bool:
    """Refresh the claim; False when another worker has taken the segment over."""
    with session_scope(url) as session:
        done = session.execute(
            update(PbtSegmentRow)
            .execution_options(synchronize_session=False)
            .where(_owned(segment_id, worker))
            .values(heartbeat_at=_now())
        )
        return done.rowcount == 1


def release(url: str, segment_id: int, worker: str) -> None:
    """Put a claimed segment back in the queue (the worker was told to stop)."""
    with session_scope(url) as session:
        session.execute(
            update(PbtSegmentRow)
            .execution_options(synchronize_session=False)
            .where(_owned(segment_id, worker))
            .values(status=QUEUED, worker=None, heartbeat_at=None)
        )


def finish_segment(
    url: str,
    segment: Segment,
    worker: str,
    score: float | None,
    result: Mapping[str, Any],
    checkpoint: bytes | None,
    error: str | None = None,
) -> bool:
    """Store a segment's outcome and the member's checkpoint together; False (nothing
    stored) when the claim was lost to another worker meanwhile."""
    status = FAILED if error is not None else DONE
    with session_scope(url) as session:
        stored = session.execute(
            update(PbtSegmentRow)
            .execution_options(synchronize_session=False)
            .where(_owned(segment.id, worker))
            .values(
                status=status,
                score=score,
                result=dict(result),
                error=error,
                finished_at=_now(),
                heartbeat_at=None,
            )
        )
        if stored.rowcount != 1:
            return False
        if checkpoint is not None:
            session.execute(
                delete(PbtCheckpointRow).where(
                    PbtCheckpointRow.run_id == segment.run_id,
                    PbtCheckpointRow.member == segment.member,
                    PbtCheckpointRow.generation == segment.generation,
                )
            )
            session.add(
                PbtCheckpointRow(
                    run_id=segment.run_id,
                    member=segment.member,
                    generation=segment.generation,
                    data=checkpoint,
                    size_bytes=len(checkpoint),
                )
            )
    return True


def load_checkpoint(url: str, run_id: int, member: int, generation: int) -> bytes | None:
    with session_scope(url) as session:
        return session.scalars(
            select(PbtCheckpointRow.data).where(
                PbtCheckpointRow.run_id == run_id,
                PbtCheckpointRow.member == member,
                PbtCheckpointRow.generation == generation,
            )
        ).one_or_none()


def checkpoint_generations(url: str, run_id: int) -> dict[int, list[int]]:
    """Which members have a stored checkpoint, per generation."""
    with session_scope(url) as session:
        rows = session.execute(
            select(PbtCheckpointRow.generation, PbtCheckpointRow.member)
            .where(PbtCheckpointRow.run_id == run_id)
            .order_by(PbtCheckpointRow.generation, PbtCheckpointRow.member)
        )
        out: dict[int, list[int]] = {}
        for generation, member in rows:
            out.setdefault(generation, []).append(member)
        return out


def queue_generation(
    url: str,
    run_id: int,
    generation: int,
    start: int,
    until: int,
    members: Iterable[tuple[int, Mapping[str, Any], int]],
) -> bool:
    """Insert generation ``generation``'s segments ``(member, params, source_member)`` and
    drop the checkpoints no segment can start from any more (those before generation
    ``generation - 1``); False when another worker queued them first."""
    try:
        with session_scope(url) as session:
            for member, params, source in members:
                session.add(_segment_row(run_id, member, generation, start, until, params, source))
            session.flush()
            session.execute(
                delete(PbtCheckpointRow).where(
                    PbtCheckpointRow.run_id == run_id,
                    PbtCheckpointRow.generation < generation - 1,
                )
            )
        return True
    except IntegrityError:
        return False


def checkpoint_bytes(url: str, run_id: int) -> int:
    """The bytes the run's stored checkpoints take."""
    with session_scope(url) as session:
        total = session.scalar(
            select(func.coalesce(func.sum(PbtCheckpointRow.size_bytes), 0)).where(
                PbtCheckpointRow.run_id == run_id
            )
        )
        return int(total or 0)


def set_outcome(url: str, run_id: int, outcome: Mapping[str, Any]) -> None:
    """Store the run's published result (the winner's test) with its settings."""
    with session_scope(url) as session:
        row = session.get(PbtRunRow, run_id)
        if row is None:
            raise StudyError(f"no population-based training run with id {run_id}")
        row.settings = {**row.settings, "outcome": dict(outcome)}


def get_outcome(url: str, run_id: int) -> dict[str, Any] | None:
    with session_scope(url) as session:
        row = session.get(PbtRunRow, run_id)
        return None if row is None else row.settings.get("outcome")


def warm_start_origins(url: str, run_id: int) -> list[str]:
    """Where the run's first members came from (past tasks' trials), member 0 first."""
    with session_scope(url) as session:
        row = session.get(PbtRunRow, run_id)
        return [] if row is None else list(row.settings.get("warm_start", []))
