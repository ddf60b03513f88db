"""Which study a worker serves next: priority first, then the one furthest behind.

A study is open when its finished plus running trials are below its budget, fewer than its
``max_concurrent_trials`` are running, and it is not paused or cancelled (study attr
``autorl.state``). A study seen done is not counted again
while its budget stays the same (a process-wide memo): the counts over every trial of a
large knowledge base would otherwise be read at every claim. Among open studies the highest
``autorl.priority`` wins; ties go to the study with the smallest share of its budget done or
in progress (fairness between studies), then to the oldest.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import optuna

from autorl.study.listing import counted_studies
from autorl.study.record import StudyRecord


@dataclass(frozen=True)
class Candidate:
    name: str
    priority: int
    progress: float  # (finished + running) / budget
    study_id: int


_DONE: dict[tuple[int, int], int] = {}  # (storage, study id) -> the budget it was done at


def open_studies(storage: optuna.storages.BaseStorage) -> list[Candidate]:
    """Studies with budget left, best candidate first (three queries whatever the number of
    studies and trials: the claim of every worker runs this)."""

    def may_be_open(study_id: int, user_attrs: dict) -> bool:
        record = StudyRecord.of(user_attrs)
        done_at = _DONE.get((id(storage), study_id))
        return record.active and (done_at is None or done_at != record.budget)

    found = []
    for study in counted_studies(storage, count_if=may_be_open):
        record = StudyRecord.of(study.user_attrs)
        used = study.counts.finished + study.counts.running
        if study.counts.finished >= record.budget and not study.counts.running:
            _DONE[(id(storage), study.study_id)] = record.budget
        limit = (record.config or {}).get("max_concurrent_trials")
        if used < record.budget and (limit is None or study.counts.running < limit):
            progress = used / record.budget
            found.append(Candidate(study.name, record.priority, progress, study.study_id))
    return sorted(found, key=lambda c: (-c.priority, c.progress, c.study_id))


def waiting_on_running(storage: optuna.storages.BaseStorage) -> list[str]:
    """Studies whose budget is all finished or running, with trials still running: no claim
    comes to them, so a worker that died in one of their last trials is noticed here."""
    found = []
    for study in counted_studies(storage, count_if=lambda _id, attrs: StudyRecord.of(attrs).active):
        record = StudyRecord.of(study.user_attrs)
        finished, running = study.counts.finished, study.counts.running
        if running and finished < record.budget <= finished + running:
            found.append(study.name)
    return found


def next_study(storage: optuna.storages.BaseStorage, skip: Collection[str] = ()) -> str | None:
    """The study to serve next, or None if no study has work."""
    for candidate in open_studies(storage):
        if candidate.name not in skip:
            return candidate.name
    return None
