"""``autorl best`` formats: what each one promises (no training)."""

from __future__ import annotations

import json

import yaml

from autorl.cli.formats import render
from autorl.search.queries import BestConfig


def best(**config_changes) -> BestConfig:
    config = {
        "algo": "ppo",
        "policy": "MlpPolicy",
        "sb3_kwargs": {
            "learning_rate": {"schedule": "linear", "initial": 0.001, "final": 0.0},
            "clip_range": {"schedule": "linear", "initial": 0.2, "final": 0.05},
            "n_steps": 256,
            "policy_kwargs": {"net_arch": {"pi": [64], "vf": [64]}, "activation_fn": "relu"},
        },
        "env": {"n_envs": 8, "normalize_obs": True, "normalize_reward": False},
    }
    config.update(config_changes)
    return BestConfig(
        study="s",
        trial=3,
        params={"learning_rate": 0.001},
        config=config,
        score=480.0,
        score_std=5.0,
        seed_scores=[475.0, 485.0],
        train_seeds=[0, 1],
        evaluation={
            "episodes": 5,
            "first_episode_seed": 10000,
            "evaluations_per_run": 10,
            "deterministic": True,
        },
        timesteps=50000,
        task={"env_id": "CartPole-v1", "env_kwargs": {"g": 1}},
        validation={"mean": 470.0, "std": 3.0, "train_seeds": [100000]},
        storage="sqlite://",
    )


def test_json_and_yaml_carry_scores_seeds_and_kwargs():
    for fmt, parse in (("json", json.loads), ("yaml", yaml.safe_load)):
        data = parse(render(best(), fmt))
        assert data["score"] == 480.0 and data["train_seeds"] == [0, 1]
        assert data["config"]["sb3_kwargs"]["n_steps"] == 256
        assert data["validation"]["mean"] == 470.0


def test_zoo_format_uses_rl_zoo_conventions_and_says_what_it_cannot_express():
    text = render(best(), "zoo")
    entry = yaml.safe_load(text)["CartPole-v1"]
    assert entry["learning_rate"] == "lin_0.001"
    assert entry["clip_range"] == 0.2  # lin to a non-zero end has no RL Zoo form
    assert "clip_range: linear schedule 0.2 -> 0.05 has no RL Zoo form" in text
    assert entry["normalize"] == "dict(norm_obs=True, norm_reward=False)"
    assert entry["n_envs"] == 8 and entry["n_timesteps"] == 50000
    assert entry["policy_kwargs"] == "dict(net_arch=dict(pi=[64], vf=[64]), activation_fn=nn.ReLU)"
    assert '--env-kwargs {"g": 1}' in text


def test_python_format_is_valid_python_that_builds_the_kwargs():
    source = render(best(), "python")
    namespace: dict = {}
    exec(compile(source, "best.py", "exec"), namespace)
    kwargs = namespace["kwargs"]
    assert kwargs["n_steps"] == 256
    assert callable(kwargs["learning_rate"]) and abs(kwargs["learning_rate"](1.0) - 0.001) < 1e-12
    assert kwargs["policy_kwargs"]["activation_fn"].__name__ == "ReLU"
