"""The same training and evaluation as autorl's trials, written with Stable-Baselines3 alone.

Usage: python bare_sb3.py resolved.json TIMESTEPS
``resolved.json`` holds TrainConfig dicts (plain numbers, activation names); no autorl import.
Env i of the run seeded s is seeded as autorl seeds it (``SeedSequence(s, i)``).
Evaluation matches autorl's: 10 evaluations evenly spaced (the last after training),
5 deterministic episodes each on a separate env, episode i reset with seed 10000 + i.
"""

from __future__ import annotations

import json
import sys
import time

import gymnasium as gym
import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv
from torch import nn

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}
N_EVALUATIONS, EPISODES, EVAL_SEED = 10, 5, 10_000


def env_seed(seed: int, rank: int) -> int:
    """autorl's seed of env ``rank`` of seed run ``seed`` (not SB3's seed + rank)."""
    entropy = [seed % 2**64, rank]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint32)[0])


class SeededVecEnv(DummyVecEnv):
    """Env i gets ``env_seed(s, i)`` when the model seeds the vector env with s."""

    def seed(self, seed: int | None = None) -> list[int | None]:
        first = super().seed(seed)[0]
        self._seeds = [env_seed(int(first), rank) for rank in range(self.num_envs)]
        return list(self._seeds)


def make_env(seed: int, rank: int):
    def _init() -> gym.Env:
        env = gym.make("CartPole-v1")
        env.action_space.seed(env_seed(seed, rank))
        return Monitor(env)

    return _init


def evaluate(model: PPO, env: gym.Env) -> float:
    returns = []
    for i in range(EPISODES):
        obs, _ = env.reset(seed=EVAL_SEED + i)
        total, done = 0.0, False
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


class Periodic(BaseCallback):
    def __init__(self, at: list[int], env: gym.Env) -> None:
        super().__init__()
        self.at, self.env, self.scores = list(at), env, []

    def _on_step(self) -> bool:
        while self.at and self.num_timesteps >= self.at[0]:
            self.at.pop(0)
            self.scores.append(evaluate(self.model, self.env))
        return True


def run(config: dict, timesteps: int, seed: int = 0) -> list[float]:
    kwargs = dict(config["sb3_kwargs"])
    pk = dict(kwargs.pop("policy_kwargs", {}))
    pk["activation_fn"] = ACTIVATIONS[pk.get("activation_fn", "tanh")]
    venv = SeededVecEnv([make_env(seed, rank) for rank in range(config["env"]["n_envs"])])
    eval_env = gym.make("CartPole-v1")
    model = PPO(config["policy"], venv, policy_kwargs=pk, seed=seed, device="cpu", **kwargs)
    at = [round(k * timesteps / N_EVALUATIONS) for k in range(1, N_EVALUATIONS)]
    callback = Periodic(at, eval_env)
    model.learn(total_timesteps=timesteps, callback=callback)
    callback.scores.append(evaluate(model, eval_env))
    venv.close()
    eval_env.close()
    return callback.scores


def main() -> None:
    path, timesteps = sys.argv[1], int(sys.argv[2])
    with open(path) as handle:
        configs = json.load(handle)
    for config in configs:
        started = time.perf_counter()
        curve = run(config, timesteps)
        seconds = time.perf_counter() - started
        print(json.dumps({"score": curve[-1], "seconds": seconds, "curve": curve}), flush=True)


if __name__ == "__main__":
    main()
