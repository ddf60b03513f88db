"""The final test of a study's chosen configuration, on seeds no choice has seen.

The chosen trial (the best aggregate over at least ``min_seeds`` training seeds, or the
final choice among the top ones: ``final_choice``) is trained again with test seeds no
tuning run or choice used (100000, 100001, ...) and evaluated on episodes seeded from a
range no other evaluation used (200000 ...). Nothing is chosen with these
runs, so their score is an unbiased estimate of what the published configuration does on a
new seed. The record (study attr ``autorl.validation``, the older name) keeps the selection
score beside the test score, every test seed's score, and the fraction of test seeds that
reach the task's threshold.
"""

from __future__ import annotations

import logging
import statistics
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from autorl.runtime.final_choice import (
    RunAll,
    choose_final,
    isolated_run,
    seed_specs,
)
from autorl.scoring import aggregate, mean_interval
from autorl.study import attrs
from autorl.study.accounting import finalist_entry, published_trial
from autorl.study.config import (
    VALIDATION_EVAL_SEED,
    VALIDATION_TRAIN_SEED,
    StudyConfig,
)
from autorl.study.record import read as read_record
from autorl.study.record import write_validation
from autorl.types import EvalSettings, SeedResult

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


def test_trial(
    trial: FrozenTrial,
    config: StudyConfig,
    device: str,
    run_all: RunAll = map,
    final: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train ``trial``'s configuration on the study's test seeds; the final-test record.
    ``run_all`` maps the runs (a process pool's ``map`` runs them in parallel). ``final``:
    the final choice that chose ``trial`` (its score over training and final seeds is then
    the selection score)."""
    evaluation = EvalSettings(
        n_evaluations=1,
        episodes=config.validation_episodes,
        seed=VALIDATION_EVAL_SEED,
        per_run_episodes=config.evaluation.per_run_episodes,  # off: a study made before
    )
    seeds = [VALIDATION_TRAIN_SEED + k for k in range(config.validation_seeds)]
    specs = seed_specs(trial, config, device, seeds[0], len(seeds), evaluation)
    outcomes = list(run_all(isolated_run, specs))
    scores = [o.score if isinstance(o, SeedResult) else None for o in outcomes]
    failures = [o for o in outcomes if isinstance(o, str)]
    selection_seeds = [s["seed"] for s in trial.user_attrs.get(attrs.SEEDS) or []]
    selection = trial.value
    entry = finalist_entry(final, trial.number)
    if final is not None and entry is not None:
        selection, selection_seeds = entry["score"], selection_seeds + list(final["seeds"])
    return {
        "trial": trial.number,
        "tuning_score": trial.value,  # its aggregate over its training seeds
        "selection_score": selection,  # what chose it (training and final seeds)
        "selection_seeds": selection_seeds,
        "final_choice": entry is not None,
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


def validate_best(
    study: optuna.Study, config: StudyConfig, device: str, run_all: RunAll = map
) -> dict[str, Any] | None:
    """Make the final choice (``final_choice``, if the study asks for one), then test the
    published trial unless it already is; returns the stored test record."""
    if config.validation_seeds == 0 and config.finalists < 2:
        return None
    final = choose_final(study, config, device, run_all)
    best = published_trial(study.get_trials(deepcopy=False), final)
    if best is None or config.validation_seeds == 0:
        return None
    record = stored_validation(study)
    if (
        record
        and record.get("trial") == best.number
        and len(record.get("scores", [])) == (config.validation_seeds)
    ):
        return record
    record = test_trial(best, config, device, run_all, final)
    write_validation(study, record)
    log.info("validated trial %d: %s", best.number, record["mean"])
    return record
