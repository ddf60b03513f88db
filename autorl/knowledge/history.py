"""What earlier studies in a storage teach: their trials as plain data for the meta-learner.

Trials are grouped per task and training budget (``<task key>@<timesteps>``): scores of the
same task at another budget are not on the same scale, but the task is still similar.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from autorl import db
from autorl.meta import PastTask, PastTrial, TargetTask
from autorl.meta.params import params_key
from autorl.meta.table import Table, TableRow, TableTask
from autorl.study import attrs
from autorl.study.config import StudyConfig
from autorl.study.factory import stored_config
from autorl.study.record import StudyRecord
from autorl.study.storage import open_storage
from autorl.study.trial_rows import StoredTrial, stored_trials
from autorl.types import FailureReason, TaskRecord

log = logging.getLogger(__name__)

# Tries lost with their worker or process (no reason: Optuna's heartbeat failed it): the
# configuration was queued again, the try is not a result.
LOST_TRIES = {None, FailureReason.KILLED.value, FailureReason.REQUEUED.value}
# Failures that say something about the configuration; others (a bug, a broken env, a killed
# worker) say nothing and are left out.
CONFIG_FAILURES = {
    FailureReason.DIVERGED.value,
    FailureReason.TIMEOUT.value,
    FailureReason.OOM.value,
    FailureReason.INFEASIBLE.value,
}


def task_group(task_key: str, timesteps: int) -> str:
    return f"{task_key}@{timesteps}"


def complete_seeds(user_attrs: Mapping[str, Any]) -> int:
    """How many complete (not pruned) seed runs a scored trial's value aggregates: at least 1
    (trials made before seeds were stored, and the seed knowledge base's, count as 1)."""
    runs = user_attrs.get(attrs.SEEDS) or []
    return max(1, sum(1 for run in runs if isinstance(run, Mapping) and not run.get("pruned")))


def past_trial(trial: FrozenTrial, study_name: str) -> PastTrial | None:
    """The trial as evidence about its configuration, or None if it is no evidence. Its
    ``seeds`` is ``complete_seeds``: a multi-seed aggregate is stronger evidence."""
    steps = trial.intermediate_values
    last = steps[max(steps)] if steps else None
    return _evidence(
        trial.state.name,
        trial.value,
        last,
        trial.params,
        trial.user_attrs,
        trial.number,
        study_name,
    )


def stored_evidence(trial: StoredTrial, study_name: str) -> PastTrial | None:
    """``past_trial`` of a trial read with ``autorl.study.trial_rows.stored_trials``."""
    return _evidence(
        trial.state,
        trial.value,
        trial.last_reported,
        trial.params,
        trial.user_attrs,
        trial.number,
        study_name,
    )


def _evidence(
    state: str,
    value: float | None,
    last_reported: float | None,
    params: Mapping[str, Any],
    user_attrs: Mapping[str, Any],
    number: int,
    study_name: str,
) -> PastTrial | None:
    seeds = complete_seeds(user_attrs)
    if state == TrialState.COMPLETE.name and value is not None:
        return PastTrial(dict(params), float(value), number, study_name, seeds=seeds)
    if state == TrialState.PRUNED.name and last_reported is not None:
        score = float(last_reported) if math.isfinite(last_reported) else None
        return PastTrial(dict(params), score, number, study_name, seeds=seeds)
    failed_by_config = user_attrs.get(attrs.FAILURE_REASON) in CONFIG_FAILURES
    if state == TrialState.FAIL.name and failed_by_config and params:
        return PastTrial(dict(params), None, number, study_name)
    return None


def final_evidence(final: Mapping[str, Any] | None) -> dict[int, tuple[float, int]]:
    """A study's final choice as evidence (``autorl.runtime.final_choice``): for each
    finalist, its score over training and final seeds and how many seed runs that score
    aggregates (the final runs that failed are left out, as in the choice itself)."""
    out: dict[int, tuple[float, int]] = {}
    for entry in (final or {}).get("finalists", []):
        score = entry.get("score")
        if score is None or not math.isfinite(score):
            continue
        runs = len(entry.get("train_scores") or ()) + sum(
            1 for s in entry.get("final_scores") or () if s is not None
        )
        out[int(entry["trial"])] = (float(score), max(1, runs))
    return out


def _with_final(
    number: int, score: float | None, seeds: int, finals: Mapping[int, tuple[float, int]]
) -> tuple[float | None, int]:
    """A trial's score and seeds, or its final-choice ones where it was a finalist."""
    if score is None or number not in finals:
        return score, seeds
    final_score, final_seeds = finals[number]
    return final_score, max(seeds, final_seeds)


def past_tasks(
    storage_url: str, algo: str, exclude_study: str | None = None, seed: bool = True
) -> list[PastTask]:
    """Every task tuned with ``algo``: the storage's, then the seed knowledge base's."""
    from autorl.knowledge.seed import seed_tasks

    stored = stored_tasks(storage_url, algo, exclude_study)
    if not seed:
        return stored
    known = {task.key for task in stored}
    return stored + [task for task in seed_tasks(algo) if task.key not in known]


def stored_tasks(storage_url: str, algo: str, exclude_study: str | None = None) -> list[PastTask]:
    """Every stored task tuned with ``algo``, with its trials, families and features (read
    with SQL, ``stored_trials``: Optuna's ``get_trials`` took 66 s for 10,000 trials here)."""
    links = [
        link for link in db.study_links(storage_url, algo=algo) if link.study_name != exclude_study
    ]
    if not links:
        return []
    storage = open_storage(storage_url)
    records: dict[str, TaskRecord] = {}
    grouped: dict[str, list[PastTrial]] = {}
    for link in links:
        try:
            study_id = storage.get_study_id_from_name(link.study_name)
        except KeyError:
            log.info("study %s is linked to a task but no longer stored", link.study_name)
            continue
        study_record = StudyRecord.of(storage.get_study_user_attrs(study_id))
        config = study_record.config
        if config is None:
            continue
        finals = final_evidence(study_record.final)
        timesteps = StudyConfig.from_dict(config).timesteps
        record = records.get(link.task_key) or db.get_task(storage_url, link.task_key)
        if record is None:
            continue
        records[link.task_key] = record
        group = grouped.setdefault(task_group(link.task_key, timesteps), [])
        stored = stored_trials(
            storage,
            study_id,
            (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL),
            (attrs.FAILURE_REASON, attrs.SEEDS),
            last_reported=True,
        )
        for trial in stored:
            evidence = stored_evidence(trial, link.study_name)
            if evidence is not None:
                score, seeds = _with_final(evidence.number, evidence.score, evidence.seeds, finals)
                group.append(replace(evidence, score=score, seeds=seeds))
    tasks = []
    for group, trials in grouped.items():
        record = records[group.split("@", 1)[0]]
        features = record.features
        tasks.append(
            PastTask(
                key=group,
                trials=tuple(trials),
                families=record.families,
                features=features,
                threshold=features.reward_threshold if features is not None else None,
                name=f"{record.spec.env_id} {record.key} @{group.split('@', 1)[1]} steps",
            )
        )
    return tasks


def target_task(record: TaskRecord, timesteps: int, family: str | None) -> TargetTask:
    families = tuple(sorted({*record.families, *([family] if family else [])}))
    return TargetTask(task_group(record.key, timesteps), families, record.features)


def table_from_storage(
    storage_url: str, family: str, algo: str, thresholds: dict[str, float | None] | None = None
) -> Table:
    """The family's stored studies for ``algo`` as a table (one task per study's task)."""
    storage = open_storage(storage_url)
    table = Table()
    names = {}
    for link in db.study_links(storage_url, family=family, algo=algo):
        record = db.get_task(storage_url, link.task_key)
        study = optuna.load_study(study_name=link.study_name, storage=storage)
        config = stored_config(study)
        finals = final_evidence(StudyRecord.of(study.user_attrs).final)
        name = link.study_name.removeprefix(f"{family}-").removesuffix(f"-{algo}")
        names[name] = link.study_name
        table.add_task(
            TableTask(
                name=name,
                key=task_group(link.task_key, config.timesteps),
                families=record.families if record else (family,),
                features=record.features if record else None,
                threshold=(thresholds or {}).get(name),
            )
        )
        study_id = storage.get_study_id_from_name(link.study_name)
        finished = stored_trials(
            storage,
            study_id,
            (TrialState.COMPLETE, TrialState.FAIL),
            (attrs.FAILURE_REASON, attrs.SEEDS),
        )
        for trial in finished:
            reason = trial.user_attrs.get(attrs.FAILURE_REASON)
            if not trial.params or (trial.state == TrialState.FAIL.name and reason in LOST_TRIES):
                continue  # a try lost with its worker or process: re-queued, not a result
            score, seeds = _with_final(
                trial.number,
                trial.value if trial.state == TrialState.COMPLETE.name else None,
                complete_seeds(trial.user_attrs),
                finals,
            )
            table.add_row(
                TableRow(
                    task=name,
                    config=params_key(trial.params),
                    params=trial.params,
                    score=score,
                    distributions=trial.distributions,
                    trial=trial.number,
                    seeds=seeds,
                )
            )
    return table
