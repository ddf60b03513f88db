"""Live meta-evaluation: warm vs cold studies on a held-out task, really trained.

Each (arm, repetition) runs in its own SQLite file seeded with the family's other tasks
(a knowledge-base export without the held-out task), so no run learns from another run on
the held-out task. The seed knowledge base is not used.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import optuna
from optuna.trial import TrialState

from autorl.envs.features import probe_features
from autorl.knowledge.history import past_trial
from autorl.knowledge.kb import export_kb, import_kb
from autorl.meta.eval.evaluation import RunResult, score_run
from autorl.meta.normalize import Scale
from autorl.study.storage import open_storage
from autorl.types import TaskSpec

ARMS = ("cold", "warm")

# (storage URL, study name, warm start on?, sampler seed) -> runs the study to its budget
RunStudy = Callable[[str, str, bool, int], None]


def study_scores(url: str, name: str) -> list[float | None]:
    """The study's trial scores in the order the trials ran (None: failed)."""
    study = optuna.load_study(study_name=name, storage=open_storage(url))
    finished = [
        t
        for t in study.get_trials(deepcopy=False)
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    ]
    scores = []
    for trial in sorted(finished, key=lambda t: t.datetime_start or t.datetime_complete):
        evidence = past_trial(trial, name)
        if evidence is not None:
            scores.append(evidence.score)
    return scores


def run_live(
    storage_url: str,
    family: str,
    task_name: str,
    spec: TaskSpec,
    threshold: float | None,
    reps: int,
    workdir: Path,
    run_study: RunStudy,
) -> list[RunResult]:
    workdir.mkdir(parents=True, exist_ok=True)
    history = workdir / "history.jsonl"
    export_kb(storage_url, history, family=family, exclude=frozenset({spec.key()}))
    runs: dict[tuple[str, int], list[float | None]] = {}
    for rep in range(reps):
        for arm in ARMS:
            url = f"sqlite:///{workdir / f'{arm}-{rep}.db'}"
            import_kb(url, history)
            name = f"live-{task_name}-{arm}-{rep}"
            run_study(url, name, arm == "warm", rep)
            runs[(arm, rep)] = study_scores(url, name)
    found = [s for scores in runs.values() for s in scores if s is not None]
    floor = probe_features(spec).random_return_mean
    ceiling = max([*found, threshold if threshold is not None else -math.inf, floor])
    scale = Scale(floor, ceiling)
    limit = threshold if threshold is not None else ceiling
    return [
        score_run(task_name, arm, rep, [str(i) for i in range(len(s))], s, scale, limit, 0)
        for (arm, rep), s in runs.items()
    ]
