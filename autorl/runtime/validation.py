"""The final test of a study's chosen configuration, on seeds no choice has seen.

The chosen trial (the best aggregate over at least ``min_seeds`` training seeds) is trained
again with test seeds no tuning run used (100000, 100001, ...) and evaluated on episodes
seeded from a range no tuning evaluation used (200000 ...). Nothing is chosen with these
runs, so their score is an unbiased estimate of what the published configuration does on a
new seed. The record (study attr ``autorl.validation``, the older name) keeps the selection
score beside the test score, every test seed's score, and the fraction of test seeds that
reach the task's threshold.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable, Iterable
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from autorl.errors import TrialFailure
from autorl.runtime.isolation import IsolatedTrain
from autorl.scoring import aggregate, mean_interval
from autorl.study import attrs
from autorl.study.accounting import best_trial
from autorl.study.attrs import CONFIG
from autorl.study.config import (
    VALIDATION_EVAL_SEED,
    VALIDATION_TRAIN_SEED,
    StudyConfig,
)
from autorl.study.record import read as read_record
from autorl.study.record import write_validation
from autorl.training.trainer import train_and_evaluate
from autorl.types import EvalSettings, TrainConfig, TrainSpec

log = logging.getLogger(__name__)


def threshold_of(config: StudyConfig) -> float | None:
    """The study's threshold, else the environment's registered ``reward_threshold``."""
    if config.threshold is not None:
        return config.threshold
    from autorl.envs.gym_tasks import probe_task

    return probe_task(config.task).get("reward_threshold")


def test_summary(
    scores: list[float | None], method: str, threshold: float | None
) -> dict[str, Any]:
    """Figures of the test runs: a failed run (diverged ...) counts as not reaching the
    threshold and is left out of the means."""
    ok = [s for s in scores if s is not None]
    interval = mean_interval(ok)
    reached = [s is not None and threshold is not None and s >= threshold for s in scores]
    return {
        "score": aggregate(ok, method) if ok else None,
        "mean": statistics.fmean(ok) if ok else None,
        "std": statistics.pstdev(ok) if len(ok) > 1 else 0.0,
        "iqm": aggregate(ok, "iqm") if ok else None,
        "worst": min(ok) if ok else None,
        "ci95": list(interval) if interval else None,
        "scores": scores,
        "threshold": threshold,
        "solved_fraction": (sum(reached) / len(scores)) if threshold is not None else None,
    }


def stored_validation(study: optuna.Study) -> dict[str, Any] | None:
    return read_record(study).validation


def _test_run(spec: TrainSpec) -> float | str:
    """One test seed's score, or why it failed (module level: a process pool can run it).
    It trains in a child process, as tuning does: a crash is that seed's failure."""
    try:
        return IsolatedTrain(train_and_evaluate)(spec).score
    except TrialFailure as exc:
        return f"seed {spec.seed}: {exc.reason.value}: {exc.message}"


def test_trial(
    trial: FrozenTrial,
    config: StudyConfig,
    device: str,
    run_all: Callable[[Callable[[TrainSpec], float | str], list[TrainSpec]], Iterable] = map,
) -> dict[str, Any]:
    """Train ``trial``'s configuration on the study's test seeds; the final-test record.
    ``run_all`` maps the runs (a process pool's ``map`` runs them in parallel)."""
    train_config = TrainConfig.from_dict(trial.user_attrs[CONFIG])
    evaluation = EvalSettings(
        n_evaluations=1,
        episodes=config.validation_episodes,
        seed=VALIDATION_EVAL_SEED,
        per_run_episodes=config.evaluation.per_run_episodes,  # off: a study made before
    )
    seeds = [VALIDATION_TRAIN_SEED + k for k in range(config.validation_seeds)]
    specs = [
        TrainSpec(
            task=config.task,
            config=train_config,
            timesteps=config.timesteps,
            seed=seed,
            evaluation=evaluation.for_run(j),
            device=device,
        )
        for j, seed in enumerate(seeds)
    ]
    outcomes = list(run_all(_test_run, specs))
    scores = [o if isinstance(o, float) else None for o in outcomes]
    failures = [o for o in outcomes if isinstance(o, str)]
    return {
        "trial": trial.number,
        "tuning_score": trial.value,  # the older name of selection_score
        "selection_score": trial.value,
        "selection_seeds": [s["seed"] for s in trial.user_attrs.get(attrs.SEEDS) or []],
        "aggregate": config.aggregate,
        **test_summary(scores, config.aggregate, threshold_of(config)),
        "train_seeds": seeds,
        "eval_seed": VALIDATION_EVAL_SEED,
        "episodes": config.validation_episodes,
        # test seed j is evaluated on episodes eval_seed + j * eval_seed_step + (0..episodes-1)
        "eval_seed_step": evaluation.run_seed_step,
        "timesteps": config.timesteps,
        "failures": failures,
    }


def validate_best(study: optuna.Study, config: StudyConfig, device: str) -> dict[str, Any] | None:
    """Validate the current best trial unless it already is; returns the stored record."""
    best = best_trial(study.get_trials(deepcopy=False))
    if best is None or config.validation_seeds == 0:
        return None
    record = stored_validation(study)
    if (
        record
        and record.get("trial") == best.number
        and len(record.get("scores", [])) == (config.validation_seeds)
    ):
        return record
    record = test_trial(best, config, device)
    write_validation(study, record)
    log.info("validated trial %d: %s", best.number, record["mean"])
    return record
