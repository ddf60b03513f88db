"""``autorl best`` formats: what each one promises (no training)."""

from __future__ import annotations

import json

import pytest
import yaml

from autorl.cli.formats import render
from autorl.errors import ExportError
from autorl.study.queries import BestConfig


def best(**config_changes) -> BestConfig:
    config = {
        "algo": "ppo",
        "policy": "MlpPolicy",
        "sb3_kwargs": {
            "learning_rate": {"schedule": "linear", "initial": 0.001, "final": 0.0},
            "clip_range": {"schedule": "linear", "initial": 0.2, "final": 0.0},
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


def test_zoo_format_uses_rl_zoo_conventions():
    text = render(best(), "zoo")
    entry = yaml.safe_load(text)["CartPole-v1"]
    assert entry["learning_rate"] == "lin_0.001"
    assert entry["clip_range"] == "lin_0.2"
    assert entry["normalize"] == "dict(norm_obs=True, norm_reward=False)"
    assert entry["n_envs"] == 8 and entry["n_timesteps"] == 50000
    assert entry["policy_kwargs"] == "dict(net_arch=dict(pi=[64], vf=[64]), activation_fn=nn.ReLU)"
    assert '--env-kwargs {"g": 1}' in text


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"clip_range": {"schedule": "linear", "initial": 0.2, "final": 0.05}}, "lin_ ends at 0"),
        ({"policy_kwargs": {"shared_trunk": [64], "net_arch": [32]}}, "shared actor/critic"),
        (
            {"policy_kwargs": {"cnn": {"layers": [[16, 3, 1]], "features_dim": 64}}},
            "needs autorl's ConvExtractor",
        ),
        ({"target_entropy": {"per_action_dim": -0.5}}, "action dimension is not known"),
    ],
)
def test_zoo_format_refuses_what_would_train_another_configuration(change, reason):
    kwargs = {**best().config["sb3_kwargs"], "clip_range": 0.2, **change}
    with pytest.raises(ExportError, match=reason) as caught:
        render(best(sb3_kwargs=kwargs), "zoo")
    assert "--format python" in str(caught.value) and "trial 3 of study s" in str(caught.value)


def test_zoo_format_writes_a_per_dimension_target_entropy_as_the_number_sb3_takes():
    kwargs = {"learning_rate": 0.001, "target_entropy": {"per_action_dim": -0.5}}
    text = render(best(algo="sac", sb3_kwargs=kwargs), "zoo", action_dims=6)
    assert yaml.safe_load(text)["CartPole-v1"]["target_entropy"] == -3.0


def _architecture(model) -> list[tuple[str, tuple[int, ...]]]:
    return [(name, tuple(p.shape)) for name, p in model.policy.named_parameters()]


def test_a_shared_trunk_exports_to_python_as_the_network_autorl_trains():
    gym = pytest.importorskip("gymnasium")
    from stable_baselines3 import PPO

    from autorl.training.sb3_kwargs import materialize
    from autorl.types import TrainConfig

    pk = {"shared_trunk": [32, 32], "net_arch": [16], "activation_fn": "relu"}
    config = best(sb3_kwargs={"n_steps": 64, "policy_kwargs": pk}).config
    namespace: dict = {}
    exec(compile(render(best(**config), "python"), "best.py", "exec"), namespace)
    exported = namespace["kwargs"]
    env = gym.make("CartPole-v1")
    trained = materialize(TrainConfig.from_dict(config), env.action_space)
    ours = PPO(config["policy"], env, **trained)
    theirs = PPO(exported.pop("policy"), env, **exported)
    assert _architecture(theirs) == _architecture(ours)
    assert any("features_extractor" in name for name, _ in _architecture(ours))
    # the zoo file's network: the same net_arch without the trunk, which it cannot name
    with pytest.raises(ExportError):
        render(best(**config), "zoo")


def test_a_searched_cnn_exports_to_python_as_the_network_autorl_trains():
    pytest.importorskip("minatar", reason="MinAtar is in the games and dev extras")
    from stable_baselines3 import PPO

    from autorl.envs.gym_tasks import make_env
    from autorl.training.sb3_kwargs import materialize
    from autorl.types import TaskSpec, TrainConfig

    pk = {"cnn": {"layers": [[16, 3, 1], [32, 3, 2]], "features_dim": 64}, "net_arch": [16]}
    config = best(sb3_kwargs={"n_steps": 64, "policy_kwargs": pk}).config
    config = {**config, "policy": "CnnPolicy", "env": {"n_envs": 1, "frame_stack": 2}}
    namespace: dict = {}
    exec(compile(render(best(**config), "python"), "best.py", "exec"), namespace)
    exported = namespace["kwargs"]
    assert namespace["env_settings"]["frame_stack"] == 2
    env = make_env(TaskSpec("MinAtar/Breakout-v1"))
    trained = materialize(TrainConfig.from_dict(config), env.action_space)
    ours = PPO(config["policy"], env, **trained)
    theirs = PPO(exported.pop("policy"), env, **exported)
    assert _architecture(theirs) == _architecture(ours)


def test_python_format_is_valid_python_that_builds_the_kwargs():
    source = render(best(), "python")
    namespace: dict = {}
    exec(compile(source, "best.py", "exec"), namespace)
    kwargs = namespace["kwargs"]
    assert kwargs["n_steps"] == 256
    assert callable(kwargs["learning_rate"]) and abs(kwargs["learning_rate"](1.0) - 0.001) < 1e-12
    assert kwargs["policy_kwargs"]["activation_fn"].__name__ == "ReLU"
