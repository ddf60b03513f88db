"""Vectorised training environments: ``Monitor(EnvGuard(env))`` in a ``DummyVecEnv``.

Each env is built by ``gym_tasks.make_env`` (registered, constructed with env_kwargs,
env_attrs applied), vectorised in one process (no thread pools) and wrapped in
``VecNormalize`` when the settings ask for it. Env i of seed run s is seeded with
``env_seed(s, i)``, so that seed runs share no env's episode stream. The Gymnasium-only
helpers are re-exported.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import (
    DummyVecEnv,
    VecEnv,
    VecNormalize,
    VecTransposeImage,
)

from autorl.envs.gym_tasks import (
    ACTION_KINDS,
    ALGO_ACTION_KINDS,
    action_space_kind,
    check_compatible,
    check_space_compatible,
    make_env,
    probe_task,
    register_task,
)
from autorl.envs.images import is_image, stack_frames
from autorl.errors import SpaceError
from autorl.training.guards import EnvGuard
from autorl.types import EnvSettings, TaskSpec

__all__ = [
    "ACTION_KINDS",
    "ALGO_ACTION_KINDS",
    "action_space_kind",
    "check_compatible",
    "check_space_compatible",
    "env_seed",
    "make_env",
    "make_env_fn",
    "make_vec_env",
    "probe_task",
    "register_task",
]


def env_seed(seed: int, rank: int) -> int:
    """The seed of env ``rank`` of seed run ``seed``: derived from both (NumPy's
    ``SeedSequence``), so that no two runs share an env's stream. The usual ``seed + rank``
    (SB3's, RL Zoo's) gives runs s and s+1 all but one of their envs' episode streams in
    common: "three seeds" of an 8-env configuration were three nearly equal draws of its
    episodes, and five test seeds fewer than five independent ones."""
    entropy = [seed % 2**64, rank]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint32)[0])


class IndependentlySeededVecEnv(DummyVecEnv):
    """A ``DummyVecEnv`` whose ``seed(s)`` (SB3's models call it with their seed) gives env i
    ``env_seed(s, i)`` at its next reset, not ``s + i``."""

    def seed(self, seed: int | None = None) -> list[int | None]:
        first = super().seed(seed)[0]  # the seed, or the one SB3 drew for None
        self._seeds = [env_seed(int(first), rank) for rank in range(self.num_envs)]
        return list(self._seeds)


def make_env_fn(
    task: TaskSpec, seed: int, rank: int, frame_stack: int = 1
) -> Callable[[], gym.Env]:
    """A constructor for the ``rank``-th env of a vector env (Monitor + EnvGuard, the last
    ``frame_stack`` observations stacked), its action space seeded with
    ``env_seed(seed, rank)``."""

    def _init() -> gym.Env:
        env = EnvGuard(stack_frames(make_env(task), frame_stack), task.env_id)
        env.action_space.seed(env_seed(seed, rank))
        return Monitor(env)

    return _init


def make_vec_env(
    task: TaskSpec,
    settings: EnvSettings,
    seed: int,
    n_envs: int | None = None,
    *,
    gamma: float = 0.99,
) -> VecEnv:
    """A ``DummyVecEnv`` of ``n_envs`` (default ``settings.n_envs``) envs, env i seeded with
    ``env_seed(seed, i)``.

    Training envs get ``VecNormalize`` per ``settings`` (``gamma`` discounts the returns
    used to scale rewards; pass the algorithm's). Evaluation uses ``evaluate.EvaluationEnv``.
    """
    count = settings.n_envs if n_envs is None else n_envs
    if count < 1:
        raise SpaceError(f"n_envs must be at least 1, got {count}")
    venv: VecEnv = IndependentlySeededVecEnv(
        [make_env_fn(task, seed, rank, settings.frame_stack) for rank in range(count)]
    )
    venv.seed(seed)
    if is_image(venv.observation_space):
        # Channels first already (autorl.envs.images); SB3 guesses the layout from the
        # smallest axis and would transpose a stack of more channels than pixels a side.
        venv = VecTransposeImage(venv, skip=True)
    try:
        if settings.normalize_obs or settings.normalize_reward:
            try:
                return VecNormalize(
                    venv,
                    training=True,
                    norm_obs=settings.normalize_obs,
                    norm_reward=settings.normalize_reward,
                    gamma=gamma,
                )
            except ValueError as exc:
                raise SpaceError(
                    f"normalize_obs cannot be used with {task.env_id}: {exc}. "
                    "Set env.normalize_obs to false."
                ) from exc
        return venv
    except BaseException:
        venv.close()
        raise
