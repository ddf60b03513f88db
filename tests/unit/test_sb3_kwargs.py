"""materialize / build_model: JSON conventions become SB3 objects; saved models load."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO, TD3
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise
from stable_baselines3.common.utils import ConstantSchedule, LinearSchedule
from torch import nn

from autorl.spaces import ALGORITHMS as SPACE_ALGORITHMS
from autorl.training.models import ALGORITHMS, build_model
from autorl.training.policies import SharedTrunkExtractor
from autorl.training.sb3_kwargs import materialize, schedule
from autorl.types import EnvSettings, TrainConfig

BOX = gym.spaces.Box(low=-2.0, high=2.0, shape=(3,), dtype=np.float32)
DISCRETE = gym.spaces.Discrete(2)


def _config(algo: str, n_envs: int = 1, **kwargs) -> TrainConfig:
    return TrainConfig(algo=algo, policy="MlpPolicy", sb3_kwargs=kwargs, env=EnvSettings(n_envs))


def test_algorithms_cover_the_spaces() -> None:
    assert set(ALGORITHMS) == set(SPACE_ALGORITHMS)


def test_schedules_are_picklable_objects() -> None:
    linear = schedule({"schedule": "linear", "initial": 1e-3, "final": 1e-4})
    assert isinstance(linear, LinearSchedule)
    assert linear(1.0) == pytest.approx(1e-3)
    assert linear(0.5) == pytest.approx(5.5e-4)
    assert linear(0.0) == pytest.approx(1e-4)
    assert schedule({"schedule": "linear", "initial": 0.2})(0.0) == 0.0
    constant = schedule({"schedule": "constant", "value": 0.2})
    assert isinstance(constant, ConstantSchedule) and constant(0.3) == 0.2
    assert schedule(3) == 3.0 and isinstance(schedule(3), float)
    assert pickle.loads(pickle.dumps(linear))(0.5) == pytest.approx(5.5e-4)
    with pytest.raises(ValueError, match="unknown schedule"):
        schedule({"schedule": "cosine"})


def test_materialize_converts_and_leaves_the_config_alone() -> None:
    config = _config(
        "td3",
        learning_rate={"schedule": "linear", "initial": 1e-3, "final": 0.0},
        action_noise={"type": "normal", "sigma": 0.1},
        train_freq=[1, "episode"],
        policy_kwargs={"activation_fn": "elu", "net_arch": [32]},
    )
    before = copy.deepcopy(config.to_dict())
    kwargs = materialize(config, BOX)
    assert config.to_dict() == before
    assert isinstance(kwargs["learning_rate"], LinearSchedule)
    assert kwargs["policy_kwargs"] == {"activation_fn": nn.ELU, "net_arch": [32]}
    assert kwargs["train_freq"] == (1, "episode")
    noise = kwargs["action_noise"]
    assert isinstance(noise, NormalActionNoise)
    assert noise().shape == (3,)
    np.testing.assert_allclose(noise._sigma, [0.1, 0.1, 0.1])  # relative to the [-1, 1] range


def test_materialize_noise_entropy_and_errors() -> None:
    ou = materialize(_config("td3", action_noise={"type": "ornstein_uhlenbeck", "sigma": 0.2}), BOX)
    assert isinstance(ou["action_noise"], OrnsteinUhlenbeckActionNoise)
    sac = materialize(_config("sac", target_entropy={"per_action_dim": -0.5}), BOX)
    assert sac["target_entropy"] == pytest.approx(-1.5)
    with pytest.raises(ValueError, match="action_noise needs a Box action space"):
        materialize(_config("td3", action_noise={"type": "normal", "sigma": 0.1}), DISCRETE)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        materialize(_config("ppo", policy_kwargs={"activation_fn": "swish"}), DISCRETE)
    with pytest.raises(ValueError, match="shared_trunk is for on-policy"):
        materialize(_config("sac", policy_kwargs={"shared_trunk": [64]}), BOX)


def test_shared_trunk_builds_one_extractor_for_actor_and_critic() -> None:
    config = _config(
        "ppo",
        n_envs=2,
        n_steps=16,
        batch_size=16,
        policy_kwargs={"shared_trunk": [32, 16], "net_arch": [8], "activation_fn": "relu"},
    )
    venv = make_vec_env("CartPole-v1", n_envs=2, seed=0)
    model = build_model(config, venv, seed=0)
    policy = model.policy
    assert isinstance(policy.features_extractor, SharedTrunkExtractor)
    assert policy.pi_features_extractor is policy.vf_features_extractor
    linears = [m for m in policy.features_extractor.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(4, 32), (32, 16)]
    assert any(isinstance(m, nn.ReLU) for m in policy.features_extractor.modules())
    assert policy.action_net.in_features == 8 and policy.value_net.in_features == 8
    venv.close()


def test_build_model_checks_the_number_of_envs() -> None:
    venv = make_vec_env("CartPole-v1", n_envs=2, seed=0)
    with pytest.raises(ValueError, match="n_envs=4"):
        build_model(_config("ppo", n_envs=4, n_steps=16, batch_size=16), venv)
    venv.close()


def test_saved_model_with_linear_schedule_and_shared_trunk_loads(tmp_path: Path) -> None:
    config = _config(
        "ppo",
        n_steps=32,
        batch_size=16,
        n_epochs=1,
        learning_rate={"schedule": "linear", "initial": 1e-3, "final": 1e-4},
        clip_range={"schedule": "linear", "initial": 0.2, "final": 0.0},
        policy_kwargs={"shared_trunk": [16], "net_arch": [], "activation_fn": "tanh"},
    )
    venv = make_vec_env("CartPole-v1", n_envs=1, seed=0)
    model = build_model(config, venv, seed=0)
    model.learn(64)
    path = tmp_path / "model.zip"
    model.save(path)
    loaded = PPO.load(path, env=venv, device="cpu")
    assert loaded.lr_schedule(0.5) == pytest.approx(5.5e-4)
    assert loaded.clip_range(0.5) == pytest.approx(0.1)
    assert isinstance(loaded.policy.features_extractor, SharedTrunkExtractor)
    obs = venv.reset()
    np.testing.assert_array_equal(
        model.predict(obs, deterministic=True)[0], loaded.predict(obs, deterministic=True)[0]
    )
    loaded.learn(64, reset_num_timesteps=False)
    venv.close()


def test_td3_with_noise_and_episode_train_freq_learns_a_few_steps(tmp_path: Path) -> None:
    config = _config(
        "td3",
        buffer_size=500,
        learning_starts=16,
        batch_size=16,
        train_freq=[1, "episode"],
        action_noise={"type": "ornstein_uhlenbeck", "sigma": 0.2},
        policy_kwargs={"net_arch": [16], "activation_fn": "relu"},
    )
    venv = make_vec_env("Pendulum-v1", n_envs=1, seed=0)
    model = build_model(config, venv, seed=0)
    model.learn(64)
    model.save(tmp_path / "td3.zip")
    assert TD3.load(tmp_path / "td3.zip", device="cpu").train_freq.frequency == 1
    venv.close()
