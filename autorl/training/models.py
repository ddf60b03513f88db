"""Build an SB3 model from a ``TrainConfig``."""

from __future__ import annotations

import logging

from stable_baselines3 import A2C, DQN, PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from autorl.errors import SpaceError
from autorl.training.sb3_kwargs import materialize
from autorl.types import TrainConfig

log = logging.getLogger(__name__)

ALGORITHMS: dict[str, type[BaseAlgorithm]] = {
    "ppo": PPO,
    "a2c": A2C,
    "dqn": DQN,
    "sac": SAC,
    "td3": TD3,
}


def build_model(
    config: TrainConfig,
    venv: VecEnv,
    seed: int | None = None,
    device: str = "cpu",
    verbose: int = 0,
) -> BaseAlgorithm:
    """A fresh (untrained) model for ``config`` on ``venv``.

    ``venv`` must have ``config.env.n_envs`` envs: the resolved rollout and update budget
    depend on it.
    """
    cls = ALGORITHMS.get(config.algo)
    if cls is None:
        raise SpaceError(f"unknown algorithm {config.algo!r} (use {', '.join(ALGORITHMS)})")
    if venv.num_envs != config.env.n_envs:
        raise ValueError(
            f"the env has {venv.num_envs} copies but the configuration asks for "
            f"n_envs={config.env.n_envs}; build the VecEnv from config.env"
        )
    kwargs = materialize(config, venv.action_space)
    log.debug("building %s with %s", config.algo, kwargs)
    return cls(config.policy, venv, seed=seed, device=device, verbose=verbose, **kwargs)
