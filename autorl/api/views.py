"""Stored studies and trials as the API's public schemas (plain JSON-safe values)."""

from __future__ import annotations

import math
from typing import Any

from autorl.api.schemas import (
    FinalChoice,
    Finalist,
    SeedPolicy,
    StudyPublic,
    TestResult,
    TrialPublic,
)
from autorl.study import attrs
from autorl.study.config import StudyConfig
from autorl.study.listing import CountedStudy
from autorl.study.trial_rows import StoredTrial


def finite(value: Any) -> float | None:
    """A float JSON can carry: NaN and infinities become None."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def study_public(study: CountedStudy) -> StudyPublic:
    record = study.record
    config = StudyConfig.from_dict(record.config)
    validation = record.validation or {}
    warm = record.warm_start or {}
    return StudyPublic(
        id=study.name,
        env_id=config.task.env_id,
        algo=config.algo,
        family=config.task.family,
        state=study.state,
        trials_done=study.counts.finished,
        budget=record.budget,
        running=study.counts.running,
        best=finite(study.counts.best),
        validated_best=finite(validation.get("mean")),
        seeds=SeedPolicy(
            racing=config.race is not None,
            min_seeds=config.min_seeds,
            max_seeds=config.max_seeds,
            aggregate=config.aggregate,
            finalists=config.finalists,
            final_seeds=config.final_seeds if config.finalists else 0,
        ),
        test=test_result(validation) if validation.get("mean") is not None else None,
        failures=study.counts.failures,
        priority=record.priority,
        warm_start=list(warm.get("queued", [])),
        final=final_choice(record.final) if record.final else None,
    )


def final_choice(record: dict[str, Any]) -> FinalChoice:
    """A stored final-choice record as the schema."""
    return FinalChoice(
        chosen=int(record["chosen"]),
        aggregate=record.get("aggregate", "mean"),
        finalists=[
            Finalist(
                trial=int(f["trial"]),
                selection_score=finite(f.get("selection_score")),
                train_scores=[float(s) for s in f.get("train_scores", [])],
                final_scores=[finite(s) for s in f.get("final_scores", [])],
                score=finite(f.get("score")),
            )
            for f in record.get("finalists", [])
        ],
        seeds=list(record.get("seeds", [])),
        episodes=int(record.get("episodes", 0)),
        first_episode_seed=int(record.get("eval_seed", 0)),
        episode_seed_step=int(record.get("eval_seed_step", 0)),
        env_steps=int(record.get("env_steps", 0)),
    )


def test_result(record: dict[str, Any]) -> TestResult:
    """A stored final-test record (older ones lack the selection fields) as the schema."""
    scores = [finite(s) for s in record.get("scores", [])]
    return TestResult(
        trial=int(record["trial"]),
        selection_score=finite(record.get("selection_score", record.get("tuning_score"))),
        selection_seeds=list(record.get("selection_seeds", [])),
        aggregate=record.get("aggregate", "mean"),
        score=finite(record.get("score", record.get("mean"))),
        mean=finite(record.get("mean")),
        ci95=[float(x) for x in record["ci95"]] if record.get("ci95") else None,
        worst=finite(record.get("worst")),
        scores=scores,
        test_seeds=list(record.get("train_seeds", [])),
        episodes=int(record.get("episodes", 0)),
        first_episode_seed=int(record.get("eval_seed", 0)),
        episode_seed_step=int(record.get("eval_seed_step", 0)),
        threshold=finite(record.get("threshold")),
        solved_fraction=finite(record.get("solved_fraction")),
    )


def trial_public(trial: StoredTrial) -> TrialPublic:
    steps = trial.user_attrs.get(attrs.ENV_STEPS)
    return TrialPublic(
        number=trial.number,
        state=trial.state.lower(),
        value=finite(trial.value),
        params=trial.params,
        source=trial.user_attrs.get(attrs.SOURCE),
        failure_reason=trial.failure_reason,
        env_steps=None if steps is None else int(steps),
        wall_s=finite(trial.user_attrs.get(attrs.WALL_S)),
        seed_scores=[float(s) for s in trial.user_attrs.get(attrs.SEED_SCORES, [])],
        selectable=trial.state == "COMPLETE" and trial.user_attrs.get(attrs.SELECTABLE, True),
        policy_params=trial.user_attrs.get(attrs.POLICY_PARAMS),
        latency_us=finite(trial.user_attrs.get(attrs.LATENCY_US)),
    )


def json_safe(value: Any) -> Any:
    """``value`` with every NaN/infinity (nested in lists and dicts) replaced by None."""
    if isinstance(value, float):
        return finite(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
