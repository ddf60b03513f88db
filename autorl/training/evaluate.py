"""Scoring a policy: N episodes on one plain env, episode i reset with seed + i.

``EvaluationEnv`` is the single implementation used by the trainer's periodic evaluations,
by ``evaluate`` and by anything that reloads a saved model, so scores are comparable. It steps
a bare (guarded) Gymnasium env rather than a VecEnv: an evaluation step costs what the policy
and the env cost, nothing more. Observations are normalised with the training statistics
(read, never updated); returns are the env's own rewards.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize, unwrap_vec_normalize

from autorl.envs.images import stack_frames
from autorl.errors import TrialFailure
from autorl.training.envs import make_env
from autorl.training.guards import DIVERGED_HINT, Deadline, EnvGuard
from autorl.types import EnvSettings, Evaluation, FailureReason, TaskSpec

DEADLINE_CHECK_EVERY = 64


class EvaluationEnv:
    """One evaluation env of ``task`` with the training run's observation normalisation."""

    def __init__(
        self,
        task: TaskSpec,
        settings: EnvSettings,
        norm_source: VecEnv | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        source = unwrap_vec_normalize(norm_source) if norm_source is not None else None
        if settings.normalize_obs and source is None:
            raise ValueError(
                f"evaluating {task.env_id} with normalize_obs needs the training VecNormalize "
                "statistics: pass norm_source (the training env or the loaded statistics)"
            )
        self._norm: VecNormalize | None = source if source is not None and source.norm_obs else None
        self._deadline = deadline
        self.env = EnvGuard(stack_frames(make_env(task), settings.frame_stack), task.env_id)

    def _observe(self, obs: Any) -> Any:
        return obs if self._norm is None else self._norm.normalize_obs(obs)

    def run(
        self, model: BaseAlgorithm, episodes: int, seed: int, deterministic: bool = True
    ) -> tuple[float, ...]:
        """Undiscounted, unnormalised returns of ``episodes`` episodes."""
        if episodes < 1:
            raise ValueError(f"episodes must be at least 1, got {episodes}")
        returns = []
        steps = 0
        for episode in range(episodes):
            obs, _ = self.env.reset(seed=seed + episode)
            total, state, start, done = 0.0, None, np.ones((1,), dtype=bool), False
            while not done:
                action, state = model.predict(
                    self._observe(obs),
                    state=state,
                    episode_start=start,
                    deterministic=deterministic,
                )
                self._check(action, steps)
                obs, reward, terminated, truncated, _ = self.env.step(action)
                total += float(reward)
                start[0] = False
                done = terminated or truncated
                steps += 1
            returns.append(total)
        return tuple(returns)

    def _check(self, action: np.ndarray, steps: int) -> None:
        if action.dtype.kind in "fc" and not np.isfinite(action).all():
            raise TrialFailure(
                FailureReason.DIVERGED,
                f"the policy produced NaN/inf actions during evaluation; {DIVERGED_HINT}",
            )
        if (
            self._deadline is not None
            and steps % DEADLINE_CHECK_EVERY == 0
            and self._deadline.expired()
        ):
            raise TrialFailure(
                FailureReason.TIMEOUT,
                f"ran past its wall-clock limit of {self._deadline.limit_s:g} s during "
                f"evaluation ({self._deadline.elapsed():.1f} s elapsed)",
            )

    def close(self) -> None:
        self.env.close()


def summarize(step: int, returns: tuple[float, ...]) -> Evaluation:
    """An ``Evaluation`` of ``returns`` measured after ``step`` env steps."""
    values = np.asarray(returns, dtype=float)
    return Evaluation(
        step=step, mean=float(values.mean()), std=float(values.std()), returns=returns
    )


def evaluate(
    model: BaseAlgorithm,
    task: TaskSpec,
    settings: EnvSettings,
    episodes: int,
    seed: int,
    norm_source: VecEnv | None = None,
    deterministic: bool = True,
) -> Evaluation:
    """Evaluate ``model`` on a fresh env of ``task`` (statistics from ``norm_source``)."""
    env = EvaluationEnv(task, settings, norm_source)
    try:
        returns = env.run(model, episodes, seed, deterministic)
    finally:
        env.close()
    return summarize(model.num_timesteps, returns)
