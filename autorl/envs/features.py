"""Probe a task once with a uniformly random policy: the features a meta-learner compares.

The figures are deterministic for a task: episode ``i`` is reset with ``seed + i`` and the
random actions come from the action space seeded with ``seed``.
"""

from __future__ import annotations

import math

import numpy as np
from gymnasium import spaces

from autorl.envs.gym_tasks import make_env
from autorl.errors import TaskError
from autorl.types import SpaceSummary, TaskFeatures, TaskSpec

PROBE_EPISODES = 10
PROBE_SEED = 0
MAX_PROBE_STEPS = 20_000  # total env steps; episodes are cut short beyond this


def summarize_space(space: spaces.Space) -> SpaceSummary:
    """Kind, shape, size and finite bounds of a Gymnasium space."""
    shape = tuple(int(s) for s in (space.shape or ()))
    if isinstance(space, spaces.Discrete):
        return SpaceSummary("discrete", shape, n=int(space.n))
    if isinstance(space, spaces.Box):
        low = np.asarray(space.low, dtype=float)
        high = np.asarray(space.high, dtype=float)
        finite_low, finite_high = low[np.isfinite(low)], high[np.isfinite(high)]
        return SpaceSummary(
            "box",
            shape,
            low=float(finite_low.min()) if finite_low.size else None,
            high=float(finite_high.max()) if finite_high.size else None,
        )
    if isinstance(space, spaces.MultiDiscrete):
        return SpaceSummary("multi_discrete", shape, n=int(np.prod(space.nvec)))
    if isinstance(space, spaces.MultiBinary):
        return SpaceSummary("multi_binary", shape, n=int(np.prod(space.n)))
    return SpaceSummary(type(space).__name__, shape)


def probe_features(
    task: TaskSpec, episodes: int = PROBE_EPISODES, seed: int = PROBE_SEED
) -> TaskFeatures:
    """Run ``episodes`` random-policy episodes and summarise the task."""
    if episodes < 1:
        raise ValueError("probing needs at least one episode")
    env = make_env(task)
    try:
        env.action_space.seed(seed)
        returns: list[float] = []
        lengths: list[int] = []
        rewards: list[float] = []
        for i in range(episodes):
            env.reset(seed=seed + i)
            total, length, done = 0.0, 0, False
            while not done and len(rewards) < MAX_PROBE_STEPS:
                _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
                reward = float(reward)
                if not math.isfinite(reward):
                    raise TaskError(
                        f"environment '{task.env_id}' returned a non-finite reward ({reward}) "
                        "to a random policy; fix the environment before tuning on it"
                    )
                total += reward
                length += 1
                rewards.append(reward)
                done = terminated or truncated
            returns.append(total)
            lengths.append(length)
            if len(rewards) >= MAX_PROBE_STEPS:
                break
        spec = env.spec
        return TaskFeatures(
            observation=summarize_space(env.observation_space),
            action=summarize_space(env.action_space),
            max_episode_steps=spec.max_episode_steps if spec is not None else None,
            reward_threshold=spec.reward_threshold if spec is not None else None,
            random_return_mean=float(np.mean(returns)),
            random_return_std=float(np.std(returns)),
            random_episode_length=float(np.mean(lengths)),
            reward_per_step_mean=float(np.mean(rewards)),
            reward_per_step_std=float(np.std(rewards)),
            episodes=len(returns),
            seed=seed,
        )
    finally:
        env.close()
