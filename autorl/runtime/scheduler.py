"""Which study a worker serves next: priority first, then the one furthest behind.

A study is open when its finished plus running trials are below its budget and it is not
paused or cancelled (study attr ``autorl.state``). Among open studies the highest
``autorl.priority`` wins; ties go to the study with the smallest share of its budget done or
in progress (fairness between studies), then to the oldest.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import optuna

from autorl.study.queries import counted_studies
from autorl.study.record import StudyRecord


@dataclass(frozen=True)
class Candidate:
    name: str
    priority: int
    progress: float  # (finished + running) / budget
    study_id: int


def open_studies(storage: optuna.storages.BaseStorage) -> list[Candidate]:
    """Studies with budget left, best candidate first (three queries whatever the number of
    studies and trials: the claim of every worker runs this)."""
    found = []
    for study in counted_studies(storage):
        record = StudyRecord.of(study.user_attrs)
        if not record.active:
            continue
        used = study.counts.finished + study.counts.running
        if used < record.budget:
            progress = used / record.budget
            found.append(Candidate(study.name, record.priority, progress, study.study_id))
    return sorted(found, key=lambda c: (-c.priority, c.progress, c.study_id))


def next_study(storage: optuna.storages.BaseStorage, skip: Collection[str] = ()) -> str | None:
    """The study to serve next, or None if no study has work."""
    for candidate in open_studies(storage):
        if candidate.name not in skip:
            return candidate.name
    return None
