"""A recorded table of (task, configuration) scores: the offline ground for meta-evaluation.

One JSON object per line. A ``task`` line describes a task; a ``row`` line is one
configuration's score on one task (``score`` null when the configuration failed):

    {"kind": "task", "name": "g-8", "key": "63714e35@100000", "families": ["pendulum-physics"],
     "features": {...}, "threshold": -200}
    {"kind": "row", "task": "g-8", "config": "<params key>", "params": {...},
     "distributions": {...}, "score": -187.3, "seeds": 3}

``seeds`` (how many complete seed runs the score aggregates) is written only when it is not 1,
and read as 1 where absent, so older tables load unchanged.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autorl.meta.data import PastTask, PastTrial, TargetTask
from autorl.meta.normalize import Scale, Shrink, shrink_for, task_scale
from autorl.types import TaskFeatures


@dataclass(frozen=True)
class TableTask:
    name: str
    key: str
    families: tuple[str, ...] = ()
    features: TaskFeatures | None = None
    threshold: float | None = None


@dataclass(frozen=True)
class TableRow:
    task: str
    config: str
    params: Mapping[str, Any]
    score: float | None
    distributions: Mapping[str, Any] = field(default_factory=dict)  # Optuna's JSON form
    trial: int | None = None  # the stored trial it came from, where known (not exported)
    seeds: int = 1  # complete seed runs ``score`` aggregates


@dataclass
class Table:
    tasks: dict[str, TableTask] = field(default_factory=dict)
    rows: dict[str, dict[str, TableRow]] = field(default_factory=dict)  # task -> config -> row

    def add_task(self, task: TableTask) -> None:
        self.tasks[task.name] = task
        self.rows.setdefault(task.name, {})

    def add_row(self, row: TableRow) -> None:
        if row.task not in self.tasks:
            raise ValueError(f"row for unknown task {row.task!r}")
        self.rows[row.task][row.config] = row

    def configs(self, task: str) -> list[str]:
        return sorted(self.rows[task])

    def common_configs(self) -> list[str]:
        """Configurations scored on every task (the pool a search draws from)."""
        sets = [set(r) for r in self.rows.values()]
        return sorted(set.intersection(*sets)) if sets else []

    def score(self, task: str, config: str) -> float | None:
        return self.rows[task][config].score

    def past_task(self, name: str) -> PastTask:
        task = self.tasks[name]
        trials = tuple(
            PastTrial(row.params, row.score, i, name, row.distributions, row.seeds)
            for i, row in enumerate(self.rows[name][c] for c in self.configs(name))
        )
        return PastTask(task.key, trials, task.families, task.features, task.threshold, name)

    def target(self, name: str) -> TargetTask:
        task = self.tasks[name]
        return TargetTask(task.key, task.families, task.features)

    def scale(self, name: str) -> Scale:
        """Random return -> 0, best configuration in the table -> 1 (thresholds ignored)."""
        past = self.past_task(name)
        return task_scale(PastTask(past.key, past.trials, features=past.features))

    def shrink(self, name: str) -> Shrink:
        """``scale`` with the rows' scores shrunk by their seed counts (``normalize.Shrink``)."""
        return shrink_for(self.scale(name), ((r.score, r.seeds) for r in self.rows[name].values()))

    def threshold(self, name: str) -> float:
        """The task's solved threshold, or else the 90th percentile of its table scores."""
        task = self.tasks[name]
        if task.threshold is not None:
            return task.threshold
        scores = sorted(s for s in (r.score for r in self.rows[name].values()) if s is not None)
        return scores[min(len(scores) - 1, math.floor(0.9 * len(scores)))] if scores else math.inf

    # --- files -----------------------------------------------------------------------------

    def to_jsonl(self, path: Path) -> None:
        lines = []
        for task in self.tasks.values():
            lines.append(
                {
                    "kind": "task",
                    "name": task.name,
                    "key": task.key,
                    "families": list(task.families),
                    "features": task.features.to_dict() if task.features else None,
                    "threshold": task.threshold,
                }
            )
        for name in self.tasks:
            for config in self.configs(name):
                row = self.rows[name][config]
                line = {
                    "kind": "row",
                    "task": row.task,
                    "config": row.config,
                    "params": dict(row.params),
                    "distributions": dict(row.distributions),
                    "score": row.score,
                }
                if row.seeds != 1:
                    line["seeds"] = row.seeds
                lines.append(line)
        Path(path).write_text("".join(json.dumps(line, sort_keys=True) + "\n" for line in lines))

    @classmethod
    def from_jsonl(cls, path: Path) -> Table:
        table = cls()
        for number, text in enumerate(Path(path).read_text().splitlines(), 1):
            if not text.strip():
                continue
            try:
                data = json.loads(text)
                if data["kind"] == "task":
                    features = data.get("features")
                    table.add_task(
                        TableTask(
                            data["name"],
                            data["key"],
                            tuple(data.get("families") or ()),
                            TaskFeatures.from_dict(features) if features else None,
                            data.get("threshold"),
                        )
                    )
                elif data["kind"] == "row":
                    table.add_row(
                        TableRow(
                            data["task"],
                            data["config"],
                            data["params"],
                            data["score"],
                            data.get("distributions") or {},
                            seeds=int(data.get("seeds", 1)),
                        )
                    )
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{number}: not a table line ({exc})") from None
        return table
