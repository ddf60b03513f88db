"""The best configurations of a task family: per task, and one for the family as a whole.

A configuration's score on a task is only ever a measured one (warm starts re-run good
configurations on new tasks, so the same configuration is measured on several tasks). The
family's recommendation is the configuration with the best mean normalised score
(``autorl.meta.normalize``) over the tasks it was measured on, among those measured on the
most tasks (at least half the family's tasks where possible).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

import optuna

from autorl.errors import StudyError
from autorl.meta.table import Table
from autorl.search.meta_eval import table_from_storage
from autorl.search.queries import BestConfig, best_config
from autorl.search.storage import open_storage


@dataclass(frozen=True)
class Recommendation:
    params: dict[str, Any]
    mean_normalised: float
    per_task: dict[str, float | None]  # task -> measured score (None: failed there)
    measured_on: int
    tasks: int
    example: BestConfig  # one trial that trained it (its config, seeds and provenance)

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["example"] = self.example.to_dict()
        return data


@dataclass(frozen=True)
class FamilyBest:
    family: str
    algo: str | None
    per_task: dict[str, BestConfig] = field(default_factory=dict)  # task name -> its best
    recommended: Recommendation | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "algo": self.algo,
            "tasks": {name: best.to_dict() for name, best in self.per_task.items()},
            "recommended": None if self.recommended is None else self.recommended.to_dict(),
        }


def _recommend(
    storage_url: str,
    table: Table,
    examples: dict[str, tuple[optuna.Study, int]],
    storage: optuna.storages.RDBStorage,
) -> Recommendation | None:
    if not table.tasks:
        return None
    measured: dict[str, dict[str, float | None]] = {}
    for task, rows in table.rows.items():
        for key, row in rows.items():
            if key in examples:  # completed somewhere: a configuration that can be shown
                measured.setdefault(key, {})[task] = row.score
    if not measured:
        return None
    scales = {task: table.scale(task) for task in table.tasks}
    most = max(len(m) for m in measured.values())
    need = min(most, max(1, math.ceil(len(table.tasks) / 2)))
    best_key, best_mean = None, -math.inf
    for key, scores in measured.items():
        if len(scores) < need:
            continue
        mean = statistics.fmean(scales[t](s) for t, s in scores.items())
        if (mean, len(scores)) > (best_mean, len(measured.get(best_key or "", {}))):
            best_key, best_mean = key, mean
    if best_key is None:
        return None
    row = next(table.rows[t][best_key] for t in table.tasks if best_key in table.rows[t])
    return Recommendation(
        params=dict(row.params),
        mean_normalised=round(best_mean, 4),
        per_task=measured[best_key],
        measured_on=len(measured[best_key]),
        tasks=len(table.tasks),
        example=best_config(
            examples[best_key][0], storage_url, examples[best_key][1], storage=storage
        ),
    )


def family_best(storage_url: str, family: str, algo: str | None = None) -> FamilyBest:
    """Each task's best configuration (validated score included) and the family's pick."""
    from autorl import db

    links = db.study_links(storage_url, family=family, algo=algo)
    if not links:
        families = ", ".join(name for name, _ in db.list_families(storage_url)) or "none yet"
        raise StudyError(f"no studies of family {family!r} here (families: {families})")
    algos = sorted({link.algo for link in links})
    if algo is None and len(algos) > 1:
        raise StudyError(
            f"family {family!r} was tuned with {', '.join(algos)}: choose one with --algo"
        )
    algo = algo or algos[0]
    storage = open_storage(storage_url)
    table = table_from_storage(storage_url, family, algo)
    per_task: dict[str, BestConfig] = {}
    examples: dict[str, tuple[optuna.Study, int]] = {}  # configuration -> a trial that ran it
    for link in links:
        study = optuna.load_study(study_name=link.study_name, storage=storage)
        name = link.study_name.removeprefix(f"{family}-").removesuffix(f"-{algo}")
        try:
            per_task[name] = best_config(study, storage_url, storage=storage)
        except StudyError:
            continue  # no completed trial yet
        for key, row in sorted(table.rows.get(name, {}).items()):
            if row.score is not None and row.trial is not None:
                examples.setdefault(key, (study, row.trial))
    recommended = _recommend(storage_url, table, examples, storage)
    return FamilyBest(family, algo, per_task, recommended)
