"""Read-only views of stored studies as plain data (for the CLI, reports and the API)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from autorl.errors import StudyError
from autorl.study import attrs
from autorl.study.accounting import (
    best_trial,
    failure_counts,
    finalist_entry,
    finished_count,
    is_selectable,
    published_trial,
)
from autorl.study.config import StudyConfig
from autorl.study.listing import StudySummary, summary_of
from autorl.study.objectives import kept, pareto_front
from autorl.study.record import read as read_record
from autorl.study.stats import TrialCounts
from autorl.study.trial_rows import trial_id_of


@dataclass(frozen=True)
class BestConfig:
    """The best (or a chosen) trial of a study, with where its numbers come from."""

    study: str
    trial: int
    params: dict[str, Any]
    config: dict[str, Any]  # TrainConfig.to_dict()
    score: float | None  # the selection score: ``aggregate`` of the training seeds' scores
    score_std: float | None
    seed_scores: list[float]
    train_seeds: list[int]
    evaluation: dict[str, Any]  # episodes, first episode seed, evaluations per run
    timesteps: int
    task: dict[str, Any]
    validation: dict[str, Any] | None  # the final test on unseen seeds (of this trial)
    storage: str
    aggregate: str = "mean"  # how the seed scores became ``score``
    selectable: bool = True  # ran the study's min_seeds seeds: may be (or is) its best
    race: str | None = None  # why it ran no more seeds (racing studies)
    final: dict[str, Any] | None = None  # the final choice that chose it (final_choice)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def summarize(study: optuna.Study) -> StudySummary:
    """The listing's row of one loaded study, from its trials."""
    trials = study.get_trials(deepcopy=False)
    best = best_trial(trials)
    counts = TrialCounts(
        by_state=dict(Counter(t.state.name for t in trials)),
        finished=finished_count(trials),
        best=None if best is None else best.value,
    )
    return summary_of(study.study_name, read_record(study), counts)


def _picked_by_sql(
    study: optuna.Study, number: int | None, storage: optuna.storages.RDBStorage
) -> FrozenTrial | None:
    """The trial ``_pick`` would choose, read alone (None: no such trial, or none completed;
    a study with a final choice is read whole: ``accounting.published_trial``)."""
    if number is None and read_record(study).final:
        return None
    study_id = storage.get_study_id_from_name(study.study_name)
    trial_id = trial_id_of(storage, study_id, number)
    if trial_id is None:
        return None
    return storage.get_trial(trial_id)


def _pick(
    study: optuna.Study, number: int | None, storage: optuna.storages.RDBStorage | None = None
) -> FrozenTrial:
    if storage is not None:
        found = _picked_by_sql(study, number, storage)
        if found is not None and attrs.CONFIG in found.user_attrs:
            return found
    trials = study.get_trials(deepcopy=False)  # the general path, and every error message
    if number is None:
        best = published_trial(trials, read_record(study).final)
        completed = sum(1 for t in trials if t.state == TrialState.COMPLETE)
        if best is None and completed:
            config = StudyConfig.from_dict(read_record(study).config)
            raise StudyError(
                f"none of the {completed} completed trials of study {study.study_name!r} has "
                f"run its {config.min_seeds} seeds yet (a configuration is chosen on "
                f"--min-seeds seeds, never on fewer); give it more trials: `autorl resume "
                f"{study.study_name} --trials N`, or name one with --trial"
            )
        if best is None:
            raise StudyError(
                f"study {study.study_name!r} has no completed trial yet "
                f"({failure_counts(trials) or 'no trials'}); run `autorl resume "
                f"{study.study_name}` first"
            )
        return best
    if not 0 <= number < len(trials):
        raise StudyError(f"study {study.study_name!r} has no trial {number} (0..{len(trials) - 1})")
    trial = trials[number]
    if attrs.CONFIG not in trial.user_attrs:
        raise StudyError(f"trial {number} has no trained configuration (state {trial.state.name})")
    return trial


def best_config(
    study: optuna.Study,
    storage_url: str,
    number: int | None = None,
    storage: optuna.storages.RDBStorage | None = None,
) -> BestConfig:
    """The best completed trial (or trial ``number``) with its provenance (``storage``, the
    study's RDB storage, lets it read that one trial instead of all of them)."""
    trial = _pick(study, number, storage)
    record = read_record(study)
    config = StudyConfig.from_dict(record.config)
    seeds = trial.user_attrs.get(attrs.SEEDS, [])
    validation = record.validation
    if validation and validation.get("trial") != trial.number:
        validation = None
    return BestConfig(
        study=study.study_name,
        trial=trial.number,
        params=dict(trial.params),
        config=trial.user_attrs[attrs.CONFIG],
        score=trial.value if trial.state == TrialState.COMPLETE else None,
        score_std=trial.user_attrs.get(attrs.SCORE_STD),
        seed_scores=[s["score"] for s in seeds],
        train_seeds=[s["seed"] for s in seeds],
        aggregate=config.aggregate,
        selectable=is_selectable(trial),
        race=trial.user_attrs.get(attrs.RACE),
        evaluation={
            "episodes": config.evaluation.episodes,
            "first_episode_seed": config.evaluation.seed,
            # seed run k's episodes start at first_episode_seed + k * episode_seed_step
            "episode_seed_step": config.evaluation.run_seed_step,
            "evaluations_per_run": config.evaluation.n_evaluations,
            "deterministic": config.evaluation.deterministic,
        },
        timesteps=config.timesteps,
        task=config.task.to_dict(),
        validation=validation,
        storage=storage_url,
        final=record.final if finalist_entry(record.final, trial.number) else None,
    )


@dataclass(frozen=True)
class FrontPoint:
    """One configuration of a study's front: its cost, its selection score (the aggregate of
    its training seeds) and the share of the best's return above the random policy's it keeps."""

    trial: int
    params: int | None  # acting parameters
    latency_us: float | None  # per action, batch 1, the worker's device
    score: float
    seed_scores: list[float]
    kept: float | None  # (score - floor) / (best - floor)
    net_arch: Any  # the policy's architecture as SB3 got it

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Front:
    """A study's front of return against ``objective`` (``autorl.study.objectives``)."""

    study: str
    objective: str
    floor: float  # the random policy's return (where known; else the worst trial's score)
    floor_from: str  # "random policy" or "worst trial"
    points: list[FrontPoint]

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "points": [p.to_dict() for p in self.points]}


def pareto(study: optuna.Study, random_return: float | None = None) -> Front:
    """The study's front (StudyError for a study tuned for return alone), cheapest first."""
    config = StudyConfig.from_dict(read_record(study).config)
    objective = config.cost_objective
    if objective is None:
        raise StudyError(
            f"study {study.study_name!r} was tuned for return alone: it has no front; tune "
            "with --objectives return,params (or return,latency)"
        )
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    front = pareto_front(trials, objective)
    if random_return is not None:
        floor, floor_from = random_return, "random policy"
    else:
        floor = min((float(t.value) for t in trials if t.value is not None), default=0.0)
        floor_from = "worst trial"
    best = max((float(t.value) for t in front), default=floor)
    points = [
        FrontPoint(
            trial=t.number,
            params=t.user_attrs.get(attrs.POLICY_PARAMS),
            latency_us=t.user_attrs.get(attrs.LATENCY_US),
            score=float(t.value),
            seed_scores=[float(s["score"]) for s in t.user_attrs.get(attrs.SEEDS) or []],
            kept=kept(float(t.value), best, floor),
            net_arch=_architecture(t.user_attrs.get(attrs.CONFIG) or {}),
        )
        for t in front
    ]
    return Front(study.study_name, objective, floor, floor_from, points)


def _architecture(config: dict[str, Any]) -> Any:
    kwargs = (config.get("sb3_kwargs") or {}).get("policy_kwargs") or {}
    trunk = kwargs.get("shared_trunk")
    arch = kwargs.get("net_arch", "default")
    return {"shared_trunk": trunk, "net_arch": arch} if trunk else arch
