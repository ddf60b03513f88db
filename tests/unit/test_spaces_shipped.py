"""Every shipped space: 50 random configurations resolve, satisfy the constraints and build.

Models are built, never trained. The replay buffer of DQN/SAC/TD3 is allocated at
construction, so the resolved ``buffer_size`` (up to 1e6 in the spaces) is capped at 1000 in
the TrainConfig before building: the space is sampled and resolved exactly as shipped.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

import optuna
import pytest
from stable_baselines3.common.env_util import make_vec_env

from autorl.spaces import available_spaces, load_space
from autorl.training.models import build_model
from autorl.types import TrainConfig

optuna.logging.set_verbosity(optuna.logging.WARNING)

N_CONFIGS = 50
TEST_BUFFER = 1000
CASES = [
    ("ppo", "CartPole-v1", "discrete"),
    ("ppo", "Pendulum-v1", "box"),
    ("a2c", "CartPole-v1", "discrete"),
    ("a2c", "Pendulum-v1", "box"),
    ("dqn", "CartPole-v1", "discrete"),
    ("sac", "Pendulum-v1", "box"),
    ("td3", "Pendulum-v1", "box"),
]
PPO_DEFAULTS = {"n_steps": 2048, "batch_size": 64, "n_epochs": 10}
OFF_POLICY_DEFAULTS = {"dqn": 4, "sac": 1, "td3": 1}  # train_freq


def test_every_algorithm_has_a_shipped_space() -> None:
    assert set(available_spaces()) >= {"ppo", "a2c", "dqn", "sac", "td3"}


def _constraint_args(space_name: str) -> dict[str, dict[str, Any]]:
    return load_space(space_name).to_dict()["constraints"]


def _check_constraints(config: TrainConfig, kind: str, constraints: dict[str, Any]) -> None:
    kw, n_envs = config.sb3_kwargs, config.env.n_envs
    if kw.get("use_sde"):
        assert kind == "box"
    if config.algo in ("ppo", "a2c"):
        rollout = kw.get("n_steps", PPO_DEFAULTS["n_steps"] if config.algo == "ppo" else 5) * n_envs
        if "max_rollout" in constraints:
            assert rollout <= constraints["max_rollout"]["max_steps"]
    if config.algo == "ppo":
        batch = kw.get("batch_size", PPO_DEFAULTS["batch_size"])
        epochs = kw.get("n_epochs", PPO_DEFAULTS["n_epochs"])
        assert rollout % batch == 0, (rollout, batch)
        assert batch > 1
        updates = epochs * math.ceil(rollout / batch) / rollout
        assert updates <= constraints["max_grad_updates_per_step"]["max"] + 1e-9
    if config.algo in OFF_POLICY_DEFAULTS:
        freq = kw.get("train_freq", OFF_POLICY_DEFAULTS[config.algo])
        freq = freq[0] if isinstance(freq, list) else freq
        steps = kw.get("gradient_steps", 1)
        steps = freq * n_envs if steps == -1 else steps
        assert steps / (freq * n_envs) <= constraints["max_grad_updates_per_step"]["max"] + 1e-9


def _small_buffer(config: TrainConfig) -> TrainConfig:
    if "buffer_size" not in config.sb3_kwargs:
        return config
    kwargs = {
        **config.sb3_kwargs,
        "buffer_size": min(TEST_BUFFER, config.sb3_kwargs["buffer_size"]),
    }
    return replace(config, sb3_kwargs=kwargs)


@pytest.mark.parametrize(("name", "env_id", "kind"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_random_configurations_resolve_and_build(name: str, env_id: str, kind: str) -> None:
    space = load_space(name)
    constraints = _constraint_args(name)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=7))
    venvs: dict[int, Any] = {}
    for i in range(N_CONFIGS):
        trial = study.ask()
        # Half the trials are sampled knowing the action-space kind, half without it.
        params = space.sample(trial, kind if i % 2 else None)
        space.validate_params(params)
        resolution = space.resolve(params, kind)
        config = resolution.config
        stored = json.loads(json.dumps(config.to_dict()))
        assert TrainConfig.from_dict(stored).to_dict() == config.to_dict()
        _check_constraints(config, kind, constraints)
        n_envs = config.env.n_envs
        if n_envs not in venvs:
            venvs[n_envs] = make_vec_env(env_id, n_envs=n_envs, seed=0)
        model = build_model(_small_buffer(config), venvs[n_envs], seed=i)
        kw = config.sb3_kwargs
        if "gamma" in kw:
            assert model.gamma == pytest.approx(kw["gamma"])
        for attr in ("n_steps", "batch_size", "n_epochs", "gradient_steps"):
            if attr in kw:
                assert getattr(model, attr) == kw[attr], attr
        if kw.get("use_sde"):
            assert model.use_sde
    for venv in venvs.values():
        venv.close()
