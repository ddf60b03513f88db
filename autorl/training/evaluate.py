"""Scoring a policy: N episodes on one env, episode i reset with seed + i.

``run_episodes`` is the single implementation used by the trainer's periodic evaluations,
by ``evaluate`` and by anything that reloads a saved model, so scores are comparable.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from autorl.training.envs import make_vec_env
from autorl.types import EnvSettings, Evaluation, TaskSpec


def run_episodes(
    model: BaseAlgorithm, venv: VecEnv, episodes: int, seed: int, deterministic: bool = True
) -> tuple[float, ...]:
    """Undiscounted, unnormalised returns of ``episodes`` episodes on a one-env ``venv``."""
    if venv.num_envs != 1:
        raise ValueError(f"evaluation needs a vector env with one env, got {venv.num_envs}")
    if episodes < 1:
        raise ValueError(f"episodes must be at least 1, got {episodes}")
    returns = []
    for episode in range(episodes):
        venv.seed(seed + episode)
        obs = venv.reset()
        total = 0.0
        state: Any = None
        start = np.ones((1,), dtype=bool)
        while True:
            action, state = model.predict(
                obs, state=state, episode_start=start, deterministic=deterministic
            )
            obs, reward, done, infos = venv.step(action)
            total += float(reward[0])
            start = done
            if done[0]:
                monitored = infos[0].get("episode")  # Monitor's raw return, if present
                returns.append(float(monitored["r"]) if monitored else total)
                break
    return tuple(returns)


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
    venv = make_vec_env(task, settings, seed, n_envs=1, training=False, norm_source=norm_source)
    try:
        returns = run_episodes(model, venv, episodes, seed, deterministic)
    finally:
        venv.close()
    return summarize(model.num_timesteps, returns)
