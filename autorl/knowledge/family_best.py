"""The best configurations of a task family: per task, and one for the family as a whole.

A configuration's score on a task is only ever a measured one (warm starts re-run good
configurations on new tasks, so the same configuration is measured on several tasks); where
it is a multi-seed aggregate (a raced or multi-seed study) it is that aggregate, the trial's
value. The family's recommendation is the configuration with the best mean normalised score
(``autorl.meta.normalize``) over the tasks it was measured on, among those measured on the
most tasks (at least half the family's tasks where possible). Means are compared with each
score shrunk toward its task's typical trial by its seed count, less the task's random level
(``normalize.Shrink.gain``), so a configuration measured on 3 seeds beats a lucky one-seed
one of the same (better than typical) score; with every score at its task's usual seed count
the choice is that of the plain normalised means.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import optuna

from autorl.errors import StudyError
from autorl.knowledge.history import table_from_storage
from autorl.meta.table import Table
from autorl.study.queries import BestConfig, best_config
from autorl.study.storage import open_storage


@dataclass(frozen=True)
class Recommendation:
    params: dict[str, Any]
    mean_normalised: float
    per_task: dict[str, float | None]  # task -> measured score (None: failed there)
    per_task_seeds: dict[str, int]  # task -> complete seed runs behind that score
    weighed_mean: float  # the mean it was chosen by: ``Shrink.gain`` of each task's score
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


def family_choice(table: Table, shown: Collection[str]) -> tuple[str, float] | None:
    """The family's configuration among ``shown`` (those that can be shown: completed
    somewhere) and its mean ``Shrink.gain`` over the tasks it was measured on."""
    measured: dict[str, int] = {}  # configuration -> tasks it was measured on
    for task_rows in table.rows.values():
        for key in task_rows:
            if key in shown:
                measured[key] = measured.get(key, 0) + 1
    if not measured:
        return None
    shrinks = {task: table.shrink(task) for task in table.tasks}
    need = min(max(measured.values()), max(1, math.ceil(len(table.tasks) / 2)))
    best: tuple[float, int, str] | None = None
    for key, count in measured.items():
        if count < need:
            continue
        weighed = statistics.fmean(
            shrinks[t].gain(rows[key].score, rows[key].seeds)
            for t, rows in table.rows.items()
            if key in rows
        )
        if best is None or (weighed, count) > best[:2]:
            best = (weighed, count, key)
    return None if best is None else (best[2], best[0])


def _recommend(
    storage_url: str,
    table: Table,
    examples: dict[str, tuple[optuna.Study, int]],
    storage: optuna.storages.RDBStorage,
) -> Recommendation | None:
    choice = family_choice(table, examples)
    if choice is None:
        return None
    key, weighed = choice
    rows = {t: table.rows[t][key] for t in table.tasks if key in table.rows[t]}
    row = next(iter(rows.values()))
    mean = statistics.fmean(table.scale(t)(r.score) for t, r in rows.items())
    return Recommendation(
        params=dict(row.params),
        mean_normalised=round(mean, 4),
        per_task={t: r.score for t, r in rows.items()},
        per_task_seeds={t: r.seeds for t, r in rows.items()},
        weighed_mean=round(weighed, 4),
        measured_on=len(rows),
        tasks=len(table.tasks),
        example=best_config(examples[key][0], storage_url, examples[key][1], storage=storage),
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
