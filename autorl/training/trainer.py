"""One training run of one seed: train, evaluate periodically, report, classify failures.

Reads top to bottom: seed, build the training env and a separate evaluation env, build the
model, learn with a ``PeriodicEvaluation`` callback, evaluate once more at the end.
Failures leave as ``TrialFailure`` (see ``autorl.training.guards``); ``TaskError`` /
``IncompatibleAlgorithm`` / ``SpaceError`` mean the task or configuration cannot run at all;
anything else is a bug and propagates unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NoReturn

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import VecEnv

from autorl.errors import TrialFailure, UsageError
from autorl.training.callbacks import PeriodicEvaluation
from autorl.training.device import apply_threads
from autorl.training.envs import check_space_compatible, make_vec_env
from autorl.training.evaluate import EvaluationEnv, summarize
from autorl.training.guards import Deadline, TrialGuard, check_parameters, classify
from autorl.training.models import build_model
from autorl.types import Evaluation, FailureReason, SeedResult, TrainSpec

logger = logging.getLogger(__name__)


def _validate(spec: TrainSpec) -> None:
    if spec.timesteps < 1:
        raise UsageError(f"timesteps must be at least 1, got {spec.timesteps}")
    if spec.evaluation.n_evaluations < 1:
        raise UsageError(f"n_evaluations must be at least 1, got {spec.evaluation.n_evaluations}")
    if spec.evaluation.episodes < 1:
        raise UsageError(f"evaluation episodes must be at least 1, got {spec.evaluation.episodes}")


def guarded_training_env(spec: TrainSpec, deadline: Deadline) -> VecEnv:
    """The training VecEnv of ``spec`` (checked against the algorithm), under ``deadline``."""
    gamma = float(spec.config.sb3_kwargs.get("gamma", 0.99))
    venv = make_vec_env(spec.task, spec.config.env, spec.seed, gamma=gamma)
    try:
        check_space_compatible(spec.config.algo, venv.action_space, spec.task.env_id)
    except BaseException:
        venv.close()
        raise
    return TrialGuard(venv, deadline, label="training")


def _failure(exc: Exception, model: BaseAlgorithm | None, spec: TrainSpec) -> TrialFailure | None:
    """The ``TrialFailure`` ``exc`` stands for (with context), or ``None`` for a bug."""
    failure = classify(exc, model)
    if failure is None:
        return None
    if failure.reason is FailureReason.TIMEOUT:
        steps = model.num_timesteps if model is not None else 0
        failure = TrialFailure(
            FailureReason.TIMEOUT,
            f"{failure.message} after {steps} of {spec.timesteps} env steps; "
            "give it more time (--trial-timeout seconds, or a larger --timeout-factor: the "
            "limit is that many times the median seed run) or fewer --timesteps",
        )
    logger.info("seed %d failed (%s): %s", spec.seed, failure.reason.value, failure.message)
    return failure


def reraise_classified(exc: Exception, model: BaseAlgorithm | None, spec: TrainSpec) -> NoReturn:
    """Raise the ``TrialFailure`` ``exc`` stands for (chained to it), or ``exc`` itself when
    it is a bug or a failure already."""
    failure = _failure(exc, model, spec)
    if failure is None or failure is exc:
        raise exc
    raise failure from exc


def train_and_evaluate(
    spec: TrainSpec, report: Callable[[int, float], bool] | None = None
) -> SeedResult:
    """Train one seed, evaluating ``spec.evaluation.n_evaluations`` times (the last at the end).

    After each evaluation ``report(env_steps, mean_return)`` is called; when it returns False
    training stops and the result is ``pruned``. The score is the last evaluation's mean.
    Raises ``TrialFailure`` with reason DIVERGED, ENV_ERROR, TIMEOUT or OOM.
    """
    _validate(spec)
    apply_threads()
    deadline = Deadline(spec.max_wall_s)
    set_random_seed(spec.seed, using_cuda=spec.device.startswith("cuda"))
    settings = spec.evaluation
    train_venv: VecEnv | None = None
    eval_env: EvaluationEnv | None = None
    model: BaseAlgorithm | None = None
    try:
        train_venv = guarded_training_env(spec, deadline)
        eval_env = EvaluationEnv(spec.task, spec.config.env, train_venv, deadline)
        model = build_model(spec.config, train_venv, seed=spec.seed, device=spec.device)
        trained, scorer = model, eval_env

        def _evaluate(step: int) -> Evaluation:
            returns = scorer.run(trained, settings.episodes, settings.seed, settings.deterministic)
            return summarize(step, returns)

        callback = PeriodicEvaluation(_evaluate, settings.steps_before_end(spec.timesteps), report)
        model.learn(total_timesteps=spec.timesteps, callback=callback)
        if not callback.pruned:
            callback.evaluate_now(spec.timesteps)
    except Exception as exc:
        reraise_classified(exc, model, spec)
    finally:
        for env in (eval_env, train_venv):
            if env is not None:
                env.close()
    result = SeedResult(
        seed=spec.seed,
        score=callback.curve[-1].mean,
        curve=tuple(callback.curve),
        env_steps=int(model.num_timesteps),
        wall_s=deadline.elapsed(),
        pruned=callback.pruned,
    )
    logger.info(
        "seed %d: score %.3f after %d env steps in %.1f s%s",
        result.seed,
        result.score,
        result.env_steps,
        result.wall_s,
        " (pruned)" if result.pruned else "",
    )
    return result


def train_model(
    spec: TrainSpec, callback: BaseCallback | None = None
) -> tuple[BaseAlgorithm, VecEnv]:
    """Train without intermediate evaluations (``callback``: SB3's, e.g. a replayed
    schedule); the caller saves the model and closes the env."""
    _validate(spec)
    apply_threads()
    deadline = Deadline(spec.max_wall_s)
    set_random_seed(spec.seed, using_cuda=spec.device.startswith("cuda"))
    venv = guarded_training_env(spec, deadline)
    model: BaseAlgorithm | None = None
    try:
        model = build_model(spec.config, venv, seed=spec.seed, device=spec.device)
        model.learn(total_timesteps=spec.timesteps, callback=callback)
        check_parameters(model)
    except Exception as exc:
        venv.close()
        reraise_classified(exc, model, spec)
    except BaseException:
        venv.close()
        raise
    return model, venv
