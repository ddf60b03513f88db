"""Re-evaluate a study's best configuration on held-out seeds: the published best is not luck.

The best trial's configuration is trained again with seeds no tuning run used, and evaluated
on episodes seeded from a range no tuning evaluation used. The result is stored beside the
tuning score (study attr ``autorl.validation``).
"""

from __future__ import annotations

import logging
import statistics
from typing import Any

import optuna

from autorl.errors import TrialFailure
from autorl.search.accounting import best_trial
from autorl.search.attrs import CONFIG
from autorl.search.study_config import (
    VALIDATION_ATTR,
    VALIDATION_EVAL_SEED,
    VALIDATION_TRAIN_SEED,
    StudyConfig,
)
from autorl.training.trainer import train_and_evaluate
from autorl.types import EvalSettings, TrainConfig, TrainSpec

log = logging.getLogger(__name__)


def stored_validation(study: optuna.Study) -> dict[str, Any] | None:
    return study.user_attrs.get(VALIDATION_ATTR)


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
    train_config = TrainConfig.from_dict(best.user_attrs[CONFIG])
    evaluation = EvalSettings(
        n_evaluations=1, episodes=config.validation_episodes, seed=VALIDATION_EVAL_SEED
    )
    scores: list[float | None] = []
    failures: list[str] = []
    seeds = [VALIDATION_TRAIN_SEED + k for k in range(config.validation_seeds)]
    for seed in seeds:
        spec = TrainSpec(
            task=config.task,
            config=train_config,
            timesteps=config.timesteps,
            seed=seed,
            evaluation=evaluation,
            device=device,
        )
        try:
            scores.append(train_and_evaluate(spec).score)
        except TrialFailure as exc:
            scores.append(None)
            failures.append(f"seed {seed}: {exc.reason.value}: {exc.message}")
    ok = [s for s in scores if s is not None]
    record = {
        "trial": best.number,
        "tuning_score": best.value,
        "mean": statistics.fmean(ok) if ok else None,
        "std": statistics.pstdev(ok) if len(ok) > 1 else 0.0,
        "scores": scores,
        "train_seeds": seeds,
        "eval_seed": VALIDATION_EVAL_SEED,
        "episodes": config.validation_episodes,
        "timesteps": config.timesteps,
        "failures": failures,
    }
    study.set_user_attr(VALIDATION_ATTR, record)
    log.info("validated trial %d: %s", best.number, record["mean"])
    return record
