"""Environment construction, registration, attribute overrides and compatibility checks."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest

from autorl.errors import IncompatibleAlgorithm, TaskError
from autorl.training.envs import (
    action_space_kind,
    check_compatible,
    make_env,
    make_vec_env,
    probe_task,
    register_task,
)
from autorl.types import EnvSettings, TaskSpec
from tests.fixtures.envs import BrokenInitEnv, CountingEnv, entry_point


def test_unknown_id_suggests_close_ids_and_entry_point() -> None:
    with pytest.raises(TaskError) as info:
        make_env(TaskSpec("CartPol-v1"))
    message = str(info.value)
    assert "unknown environment id 'CartPol-v1'" in message
    assert "'CartPole-v1'" in message
    assert "--entry-point" in message


def test_entry_point_registers_idempotently() -> None:
    task = TaskSpec("AutorlCounting-v0", entry_point=entry_point(CountingEnv))
    register_task(task)
    register_task(task)
    env = make_env(task)
    assert isinstance(env.unwrapped, CountingEnv)
    env.close()


def test_entry_point_conflict_and_bad_imports_are_task_errors() -> None:
    register_task(TaskSpec("AutorlCounting-v0", entry_point=entry_point(CountingEnv)))
    with pytest.raises(TaskError, match="already registered"):
        register_task(TaskSpec("AutorlCounting-v0", entry_point="tests.fixtures.envs:NanObsEnv"))
    with pytest.raises(TaskError, match=r"cannot import module 'no_such_pkg\.envs'"):
        register_task(TaskSpec("AutorlMissing-v0", entry_point="no_such_pkg.envs:Env"))
    with pytest.raises(TaskError, match="has no attribute 'Nope'"):
        register_task(TaskSpec("AutorlNope-v0", entry_point="tests.fixtures.envs:Nope"))
    with pytest.raises(TaskError, match=r"package\.module:ClassName"):
        register_task(TaskSpec("AutorlBad-v0", entry_point="tests.fixtures.envs.CountingEnv"))


def test_constructor_error_keeps_the_original_message() -> None:
    task = TaskSpec("AutorlBroken-v0", entry_point=entry_point(BrokenInitEnv))
    with pytest.raises(TaskError, match=r"FileNotFoundError: level7\.map"):
        make_env(task)


def test_bad_env_kwargs_are_task_errors() -> None:
    with pytest.raises(TaskError, match="unexpected keyword argument 'pole'"):
        make_env(TaskSpec("CartPole-v1", env_kwargs={"pole": 1.0}))


def test_cartpole_attrs_keep_derived_quantities_consistent() -> None:
    task = TaskSpec("CartPole-v1", env_attrs={"length": 1.0, "masspole": 0.5})
    venv = make_vec_env(task, EnvSettings(n_envs=2), seed=0)
    for env in venv.envs:
        cart = env.unwrapped
        assert cart.length == 1.0 and cart.masspole == 0.5
        assert cart.total_mass == pytest.approx(0.5 + cart.masscart)
        assert cart.polemass_length == pytest.approx(0.5 * 1.0)
    venv.close()


def test_cartpole_threshold_override_updates_observation_bounds() -> None:
    env = make_env(TaskSpec("CartPole-v1", env_attrs={"x_threshold": 3.0}))
    assert env.observation_space.high[0] == pytest.approx(6.0)
    env.close()


def test_unknown_attr_names_env_attr_and_candidates() -> None:
    with pytest.raises(TaskError) as info:
        make_env(TaskSpec("CartPole-v1", env_attrs={"pole_length": 1.0}))
    message = str(info.value)
    assert (
        "CartPole-v1 (CartPoleEnv) has no attribute 'pole_length'. Did you mean 'length'?"
        in message
    )
    assert "masspole" in message and "length" in message and "gravity" in message
    assert "env_kwargs" in message


def test_derived_attr_cannot_be_set_directly() -> None:
    with pytest.raises(TaskError, match="total_mass is computed from other attributes"):
        make_env(TaskSpec("CartPole-v1", env_attrs={"total_mass": 2.0}))


def test_non_numeric_value_for_numeric_attr_is_rejected() -> None:
    with pytest.raises(TaskError, match="Give a number"):
        make_env(TaskSpec("CartPole-v1", env_attrs={"gravity": "strong"}))


def test_paths_set_nested_numbers_and_arrays_in_place_and_name_what_exists() -> None:
    from types import SimpleNamespace

    from autorl.envs.env_attrs import apply_env_attrs

    env = gym.make("CartPole-v1")
    masses = np.ones(3)
    env.unwrapped.model = SimpleNamespace(
        body_mass=masses, opt=SimpleNamespace(gravity=np.array([0.0, 0.0, -9.81]), dt=0.01)
    )
    attrs = {"model.body_mass[1]": 3.0, "model.opt.gravity": [0, 0, -5], "model.opt.dt": 0.02}
    apply_env_attrs(env, attrs, "X")
    assert masses.tolist() == [1.0, 3.0, 1.0]  # in place: a view stays a view
    assert env.unwrapped.model.opt.gravity.tolist() == [0, 0, -5]
    assert env.unwrapped.model.opt.dt == 0.02
    refused = {
        "model.body_mas[1]": "no field 'body_mas'. Did you mean 'body_mass'",
        "model.body_mass[3]": "index [3] is outside 'body_mass', of shape [3]",
        "model.opt.gravity": "give a list of shape [3] of numbers, got 1.0",
        "model.opt.dt[0]": "'dt' is not an array to index",
        "__class__": "is not an attribute name or a path",
        "model.opt.gravity[0].x": "an indexed array has no fields",
    }
    for path, reason in refused.items():
        with pytest.raises(TaskError, match=re.escape(reason)):
            apply_env_attrs(env, {path: 1.0}, "X")
    with pytest.raises(TaskError, match="give a finite number"):
        apply_env_attrs(env, {"model.body_mass[0]": float("nan")}, "X")
    env.close()


def test_a_mujoco_robot_gets_its_mass_and_gravity_with_constants_recomputed() -> None:
    pytest.importorskip("mujoco", reason="MuJoCo is in the mujoco and dev extras")
    task = TaskSpec(
        "InvertedPendulum-v5",
        env_attrs={"model.body_mass[2]": 10.0, "model.opt.gravity": [0.0, 0.0, -5.0]},
    )
    env = make_env(task)
    model = env.unwrapped.model
    assert model.body_mass[2] == 10.0 and model.opt.gravity[2] == -5.0
    assert model.body_subtreemass[1] == pytest.approx(model.body_mass[1] + 10.0)  # mj_setConst
    env.reset(seed=0)
    env.step(env.action_space.sample())
    env.close()


def test_class_attributes_can_be_overridden_per_instance() -> None:
    env = make_env(TaskSpec("Acrobot-v1", env_attrs={"LINK_LENGTH_1": 1.5}))
    assert env.unwrapped.LINK_LENGTH_1 == 1.5
    assert type(env.unwrapped).LINK_LENGTH_1 == 1.0
    env.close()


def test_vec_env_seeding_is_reproducible() -> None:
    task = TaskSpec("CartPole-v1")
    first = make_vec_env(task, EnvSettings(n_envs=2), seed=3).reset()
    second = make_vec_env(task, EnvSettings(n_envs=2), seed=3).reset()
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first[0], first[1])


def test_eval_env_normalises_with_training_statistics_read_only() -> None:
    from autorl.training.evaluate import EvaluationEnv

    settings = EnvSettings(n_envs=2, normalize_obs=True, normalize_reward=True)
    train = make_vec_env(TaskSpec("CartPole-v1"), settings, seed=0)
    train.reset()
    for _ in range(20):
        train.step(np.array([train.action_space.sample() for _ in range(2)]))
    evaluation = EvaluationEnv(TaskSpec("CartPole-v1"), settings, norm_source=train)
    obs, _ = evaluation.env.reset(seed=1)
    expected = np.clip(
        (obs - train.obs_rms.mean) / np.sqrt(train.obs_rms.var + train.epsilon),
        -train.clip_obs,
        train.clip_obs,
    )
    count = train.obs_rms.count
    np.testing.assert_allclose(evaluation._observe(obs), expected, rtol=1e-6)
    assert train.obs_rms.count == count  # read, never updated
    with pytest.raises(ValueError, match="norm_source"):
        EvaluationEnv(TaskSpec("CartPole-v1"), settings)
    train.close()
    evaluation.close()


@pytest.mark.parametrize(
    ("space", "kind"),
    [
        (gym.spaces.Discrete(3), "discrete"),
        (gym.spaces.Box(-1, 1, (2,)), "box"),
        (gym.spaces.MultiDiscrete([2, 3]), "multi_discrete"),
        (gym.spaces.MultiBinary(4), "multi_binary"),
    ],
)
def test_action_space_kind(space: gym.spaces.Space, kind: str) -> None:
    assert action_space_kind(space) == kind


def test_check_compatible_messages() -> None:
    with pytest.raises(IncompatibleAlgorithm) as info:
        check_compatible("dqn", TaskSpec("Pendulum-v1"))
    message = str(info.value)
    assert message.startswith("dqn cannot act in Pendulum-v1: its action space is Box(-2.0, 2.0")
    assert "DQN needs a Discrete action space. Use a2c, ppo, sac or td3." in message
    with pytest.raises(IncompatibleAlgorithm, match=r"SAC needs a Box action space\. Use a2c, ppo"):
        check_compatible("sac", TaskSpec("CartPole-v1"))
    with pytest.raises(IncompatibleAlgorithm, match="unknown algorithm 'trpo'"):
        check_compatible("trpo", TaskSpec("CartPole-v1"))
    for algo in ("ppo", "a2c", "dqn"):
        check_compatible(algo, TaskSpec("CartPole-v1"))
    for algo in ("ppo", "a2c", "sac", "td3"):
        check_compatible(algo, TaskSpec("Pendulum-v1"))


def test_probe_task_reports_spaces_and_registered_limits() -> None:
    info = probe_task(TaskSpec("CartPole-v1"))
    assert info["reward_threshold"] == 475.0
    assert info["max_episode_steps"] == 500
    assert info["action_space"]["kind"] == "discrete"
    assert info["action_space"]["n"] == 2
    assert info["observation_space"]["shape"] == [4]
    assert probe_task(TaskSpec("Pendulum-v1"))["reward_threshold"] is None


def test_a_task_is_probed_once_per_process_and_each_answer_is_a_copy(monkeypatch):
    import autorl.envs.gym_tasks as gym_tasks

    built: list[str] = []
    make_env = gym_tasks.make_env
    monkeypatch.setattr(gym_tasks, "_PROBED", {})
    monkeypatch.setattr(
        gym_tasks, "make_env", lambda task: built.append(task.env_id) or make_env(task)
    )
    first = gym_tasks.probe_task(TaskSpec("CartPole-v1"))
    first["action_space"]["kind"] = "changed by a caller"
    again = gym_tasks.probe_task(TaskSpec("CartPole-v1", family="other label"))
    assert again["action_space"]["kind"] == "discrete" and built == ["CartPole-v1"]
    gym_tasks.probe_task(TaskSpec("CartPole-v1", env_kwargs={"sutton_barto_reward": True}))
    assert len(built) == 2  # another environment is probed on its own


def test_seed_runs_share_no_env_stream() -> None:
    """SB3's ``seed + rank`` gave runs s and s+1 all but one env stream in common; env i of
    run s starts where a plain env reset with ``env_seed(s, i)`` starts, also after an SB3
    model re-seeds the vector env with its own seed."""
    import gymnasium as gym
    from stable_baselines3 import PPO

    from autorl.training.envs import env_seed

    task, settings = TaskSpec("CartPole-v1"), EnvSettings(n_envs=3)
    runs = {}
    for seed in (0, 1):
        venv = make_vec_env(task, settings, seed=seed)
        PPO("MlpPolicy", venv, seed=seed, n_steps=16, batch_size=16)  # calls venv.seed(seed)
        runs[seed] = venv.reset()
        for rank in range(3):
            expected, _ = gym.make("CartPole-v1").reset(seed=env_seed(seed, rank))
            np.testing.assert_array_equal(runs[seed][rank], expected)
    starts = {tuple(np.round(obs, 6)) for run in runs.values() for obs in run}
    assert len(starts) == 6  # no start state shared between the runs' envs


def test_a_highway_scenario_registers_on_use_and_takes_its_config_dict() -> None:
    pytest.importorskip("highway_env", reason="highway-env is in the driving and dev extras")
    task = TaskSpec("highway-fast-v0", env_kwargs={"config": {"lanes_count": 2}})
    env = make_env(task)
    assert env.unwrapped.config["lanes_count"] == 2
    obs, _ = env.reset(seed=0)
    assert obs.shape == env.observation_space.shape
    env.close()


@pytest.mark.parametrize(
    ("module", "env_id", "extra"),
    [("Box2D", "LunarLander-v3", "box2d"), ("mujoco", "Hopper-v5", "mujoco")],
)
def test_an_env_whose_optional_package_is_missing_names_the_extra(
    monkeypatch, module, env_id, extra
):
    import sys

    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    for name in [
        m for m in sys.modules if m.startswith(("gymnasium.envs.box2d", "gymnasium.envs.mujoco"))
    ]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(TaskError, match=re.escape(f"pip install 'autorl[{extra}]'")):
        make_env(TaskSpec(env_id))
