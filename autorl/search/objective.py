"""One trial: sample a configuration, train it on each seed, report evaluations to Optuna."""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import optuna

from autorl.errors import SpaceError, TrialFailure
from autorl.search import attrs
from autorl.search.outage import retry_on_outage, unless_outage
from autorl.search.study_config import StudyConfig
from autorl.spaces import SearchSpace
from autorl.training.trainer import train_and_evaluate
from autorl.types import FailureReason, SeedResult, TrainSpec

log = logging.getLogger(__name__)

TrainFn = Callable[[TrainSpec, Callable[[int, float], bool] | None], SeedResult]


@dataclass(frozen=True)
class TrialContext:
    """What every trial of a study shares."""

    config: StudyConfig
    space: SearchSpace
    action_space_kind: str
    device: str
    train: TrainFn = train_and_evaluate  # unit tests pass a cheap fake


def _reporter(trial: optuna.Trial, offset: int):
    def report(step: int, value: float) -> bool:
        """Store the evaluation; False if the trial should stop (never during an outage)."""

        def store_and_ask() -> bool:
            trial.report(value, offset + step)
            return not trial.should_prune()

        return unless_outage(
            f"trial {trial.number}: evaluation at step {step}", store_and_ask, True
        )

    return report


def run_trial(trial: optuna.Trial, ctx: TrialContext, max_wall_s: float | None) -> float:
    """Train the trial's configuration on every tuning seed; the objective is the mean score.

    Raises TrialFailure (infeasible, diverged, env_error, timeout ...) or optuna.TrialPruned.
    """
    params = ctx.space.sample(trial, ctx.action_space_kind)
    try:
        resolution = ctx.space.resolve(params, ctx.action_space_kind, ctx.config.timesteps)
    except SpaceError as exc:
        raise TrialFailure(FailureReason.INFEASIBLE, str(exc)) from exc
    trial.set_user_attr(attrs.CONFIG, resolution.config.to_dict())
    if resolution.repairs:
        trial.set_user_attr(attrs.REPAIRS, list(resolution.repairs))

    started = time.monotonic()
    results: list[SeedResult] = []
    try:
        for k in range(ctx.config.seeds):
            remaining = None if max_wall_s is None else max_wall_s - (time.monotonic() - started)
            if remaining is not None and remaining <= 0:
                raise TrialFailure(
                    FailureReason.TIMEOUT, f"trial exceeded its {max_wall_s:.0f} s limit"
                )
            spec = TrainSpec(
                task=ctx.config.task,
                config=resolution.config,
                timesteps=ctx.config.timesteps,
                seed=k,
                evaluation=ctx.config.evaluation,
                device=ctx.device,
                max_wall_s=remaining,
            )
            result = ctx.train(spec, _reporter(trial, k * ctx.config.timesteps))
            results.append(result)
            if result.pruned:
                raise optuna.TrialPruned(
                    f"pruned at seed {k} after {result.env_steps} steps (score {result.score:.2f})"
                )
    finally:
        scores = [r.score for r in results]
        store = {
            attrs.SEEDS: [r.to_dict() for r in results],
            attrs.ENV_STEPS: sum(r.env_steps for r in results),
            attrs.SCORE_STD: statistics.pstdev(scores) if len(scores) > 1 else 0.0,
        }
        retry_on_outage(f"trial {trial.number}: results", lambda: _set_attrs(trial, store))
    return statistics.fmean(scores)


def _set_attrs(trial: optuna.Trial, values: dict[str, object]) -> None:
    for key, value in values.items():
        trial.set_user_attr(key, value)
