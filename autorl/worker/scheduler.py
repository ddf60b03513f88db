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

from autorl.search.accounting import finished_count, running_count
from autorl.search.study_config import BUDGET_ATTR, CONFIG_ATTR, PRIORITY_ATTR, STATE_ATTR

INACTIVE = ("paused", "cancelled")


@dataclass(frozen=True)
class Candidate:
    name: str
    priority: int
    progress: float  # (finished + running) / budget
    study_id: int


def open_studies(storage: optuna.storages.BaseStorage) -> list[Candidate]:
    """Studies with budget left, best candidate first."""
    found = []
    for summary in optuna.get_all_study_summaries(storage, include_best_trial=False):
        attrs = summary.user_attrs
        if CONFIG_ATTR not in attrs or attrs.get(STATE_ATTR) in INACTIVE:
            continue
        budget = int(attrs.get(BUDGET_ATTR, 0))
        study_id = storage.get_study_id_from_name(summary.study_name)
        trials = storage.get_all_trials(study_id, deepcopy=False)
        used = finished_count(trials) + running_count(trials)
        if used < budget:
            found.append(
                Candidate(
                    summary.study_name, int(attrs.get(PRIORITY_ATTR, 0)), used / budget, study_id
                )
            )
    return sorted(found, key=lambda c: (-c.priority, c.progress, c.study_id))


def next_study(storage: optuna.storages.BaseStorage, skip: Collection[str] = ()) -> str | None:
    """The study to serve next, or None if no study has work."""
    for candidate in open_studies(storage):
        if candidate.name not in skip:
            return candidate.name
    return None
