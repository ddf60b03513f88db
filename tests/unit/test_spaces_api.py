"""SearchSpace: storage round trip, with_fixed, validate_params, sample, resolve and repairs."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest

from autorl.errors import SpaceError
from autorl.spaces import Resolution, SearchSpace, available_spaces, load_space

optuna.logging.set_verbosity(optuna.logging.WARNING)


class FakeTrial:
    """Anything with optuna.Trial's three suggest methods will do."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self.params: dict[str, Any] = {}

    def suggest_float(self, name, low, high, *, step=None, log=False):
        value = self.rng.uniform(low, high)
        self.params[name] = value
        return value

    def suggest_int(self, name, low, high, *, step=1, log=False):
        value = self.rng.randrange(low, high + 1, step)
        self.params[name] = value
        return value

    def suggest_categorical(self, name, choices):
        value = self.rng.choice(list(choices))
        self.params[name] = value
        return value


def _space(params: dict[str, Any], algo: str = "ppo", **extra: Any) -> SearchSpace:
    return SearchSpace.from_dict({"algo": algo, "name": "t", "params": params, **extra})


def _ppo_params(**overrides: Any) -> dict[str, Any]:
    """A complete PPO configuration of the shipped space (discrete env)."""
    space = load_space("ppo")
    params = space.sample(FakeTrial(1), "discrete")
    params.update(overrides)
    return params


# --- storage -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ppo", "a2c", "dqn", "sac", "td3"])
def test_to_dict_from_dict_round_trip(name: str) -> None:
    space = load_space(name)
    stored = json.loads(json.dumps(space.to_dict()))
    again = SearchSpace.from_dict(stored)
    assert again == space
    assert again.to_dict() == stored
    assert again.algo == name and again.name == name


def test_from_dict_refuses_bad_data() -> None:
    data = load_space("ppo").to_dict()
    data["params"]["learning_rate"]["low"] = -1.0
    with pytest.raises(
        SpaceError, match=re.escape("space ppo: params.learning_rate.low: must be > 0")
    ):
        SearchSpace.from_dict(data)


def test_available_spaces_and_spaces_dir_override(tmp_path: Path, monkeypatch) -> None:
    assert {"a2c", "dqn", "ppo", "sac", "td3"} <= set(available_spaces())
    (tmp_path / "mine.yaml").write_text("algo: a2c\nparams:\n  n_steps: 8\n")
    (tmp_path / "notes.txt").write_text("not a space")
    monkeypatch.setenv("AUTORL_SPACES_DIR", str(tmp_path))
    assert available_spaces() == ["mine"]
    assert load_space("mine").fixed == {"n_steps": 8}


# --- with_fixed ----------------------------------------------------------------------------


def test_with_fixed_stops_searching_the_parameter() -> None:
    space = load_space("ppo")
    fixed = space.with_fixed({"n_envs": 8, "learning_rate": 3e-4})
    assert "n_envs" in space.searched
    assert "n_envs" not in fixed.searched and "learning_rate" not in fixed.searched
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    params = fixed.sample(trial, "discrete")
    assert "n_envs" not in trial.params
    assert params["n_envs"] == 8
    config = fixed.resolve(params, "discrete").config
    assert config.env.n_envs == 8
    assert config.sb3_kwargs["learning_rate"] in (
        3e-4,
        {"schedule": "linear", "initial": 3e-4, "final": 0.0},
    )
    assert SearchSpace.from_dict(fixed.to_dict()) == fixed


def test_with_fixed_adds_an_accepted_parameter_and_refuses_others() -> None:
    space = load_space("ppo")
    fixed = space.with_fixed({"target_kl": 0.05})
    assert fixed.fixed["target_kl"] == 0.05
    params = fixed.sample(FakeTrial(3), "discrete")
    assert fixed.resolve(params, "discrete").config.sb3_kwargs["target_kl"] == 0.05
    with pytest.raises(SpaceError, match="cannot fix 'buffer_size'"):
        space.with_fixed({"buffer_size": 1000})
    with pytest.raises(
        SpaceError, match=re.escape("cannot fix 'learning_rate' to 'fast': give a number")
    ):
        space.with_fixed({"learning_rate": "fast"})
    with pytest.raises(
        SpaceError, match=re.escape("cannot fix 'net_depth' to 1.5: give an integer")
    ):
        space.with_fixed({"net_depth": 1.5})
    with pytest.raises(SpaceError, match=re.escape("env.n_envs.value: must be >= 1")):
        space.with_fixed({"n_envs": 0})


def test_normalize_shorthand() -> None:
    fixed = load_space("ppo").with_fixed({"normalize": "obs", "n_envs": 4})
    assert fixed.fixed == {"n_envs": 4, "normalize_obs": True, "normalize_reward": False}
    env = fixed.resolve(fixed.sample(FakeTrial(0), "discrete"), "discrete").config.env
    assert (env.n_envs, env.normalize_obs, env.normalize_reward) == (4, True, False)
    with pytest.raises(SpaceError, match="cannot fix 'normalize' to 'all'"):
        load_space("ppo").with_fixed({"normalize": "all"})
    space = _space(
        {"n_steps": 64}, env={"normalize": {"type": "categorical", "choices": ["none", "both"]}}
    )
    env = space.resolve({"normalize": "both"}, "discrete").config.env
    assert env.normalize_obs and env.normalize_reward
    assert space.with_fixed({"normalize": "none"}).fixed["normalize"] == "none"


def test_with_fixed_a_condition_parent_disables_its_children() -> None:
    fixed = load_space("ppo").with_fixed({"use_sde": False, "shared_trunk": False})
    for seed in range(10):
        params = fixed.sample(FakeTrial(seed), "box")
        assert "sde_sample_freq" not in params and "head_depth" not in params
        kw = fixed.resolve(params, "box").config.sb3_kwargs
        assert kw["use_sde"] is False and "shared_trunk" not in kw["policy_kwargs"]


def test_with_fixed_keeps_conditions() -> None:
    fixed = load_space("ppo").with_fixed({"use_sde": True})
    box = fixed.resolve(fixed.sample(FakeTrial(0), "box"), "box").config
    assert box.sb3_kwargs["use_sde"] is True
    discrete_params = fixed.sample(FakeTrial(0), "discrete")
    assert "use_sde" not in discrete_params
    assert "use_sde" not in fixed.resolve(discrete_params, "discrete").config.sb3_kwargs


# --- validate_params -----------------------------------------------------------------------


def test_validate_params_accepts_sampled_configurations() -> None:
    for name in ("ppo", "a2c", "dqn", "sac", "td3"):
        space = load_space(name)
        for seed in range(10):
            space.validate_params(space.sample(FakeTrial(seed)))
            kind = "discrete" if name in ("ppo", "a2c", "dqn") else "box"
            space.validate_params(space.sample(FakeTrial(seed), kind), kind)


def test_validate_params_refuses_what_is_outside() -> None:
    space = load_space("ppo")
    good = _ppo_params()
    with pytest.raises(SpaceError, match=r"learning_rate: 5\.0 is outside \[1e-05, 0\.002\]"):
        space.validate_params({**good, "learning_rate": 5.0})
    with pytest.raises(SpaceError, match="n_steps: 100 is not one of the choices"):
        space.validate_params({**good, "n_steps": 100})
    with pytest.raises(SpaceError, match="bogus: not a parameter of space ppo"):
        space.validate_params({**good, "bogus": 1})
    with pytest.raises(SpaceError, match="n_envs: True is not one of the choices"):
        space.validate_params({**good, "n_envs": True})
    missing = {k: v for k, v in good.items() if k != "n_epochs"}
    with pytest.raises(SpaceError, match="n_epochs: missing"):
        space.validate_params(missing)
    space.validate_params(missing, partial=True)
    with pytest.raises(SpaceError, match="must be a mapping"):
        space.validate_params([1, 2])  # type: ignore[arg-type]


def test_validate_params_checks_fixed_values_and_ignores_inactive_ones() -> None:
    fixed = load_space("ppo").with_fixed({"n_envs": 8})
    good = _ppo_params(n_envs=8)
    fixed.validate_params(good)
    with pytest.raises(SpaceError, match="n_envs: is fixed to 8 in this space, got 4"):
        fixed.validate_params({**good, "n_envs": 4})
    # head_depth exists only with a shared trunk: a value given without one is ignored
    fixed.validate_params({**good, "shared_trunk": False, "head_depth": 1})


# --- sample --------------------------------------------------------------------------------


def test_sample_follows_conditions() -> None:
    space = load_space("ppo")
    for seed in range(40):
        params = space.sample(FakeTrial(seed), "box")
        assert ("sde_sample_freq" in params) == bool(params.get("use_sde"))
        assert ("head_depth" in params) == params["shared_trunk"]
        discrete = space.sample(FakeTrial(seed), "discrete")
        assert "use_sde" not in discrete and "log_std_init" not in discrete
    sac = load_space("sac")
    for seed in range(20):
        params = sac.sample(FakeTrial(seed), "box")
        assert ("ent_coef_value" in params) == (params["ent_coef_mode"] == "fixed")
        assert ("ent_coef_init" in params) == (params["ent_coef_mode"] == "auto")


def test_sample_with_enqueued_values_uses_them() -> None:
    space = load_space("dqn")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial({"learning_rate": 1e-3, "train_freq": 4, "gradient_steps": 1})
    params = space.sample(study.ask(), "discrete")
    assert params["learning_rate"] == 1e-3 and params["train_freq"] == 4


# --- resolve -------------------------------------------------------------------------------


def test_resolve_transforms_semantic_names() -> None:
    params = _ppo_params(
        n_envs=8,
        one_minus_gamma=0.01,
        lr_schedule="linear",
        learning_rate=1e-3,
        net_depth=2,
        net_width=64,
        activation="relu",
        shared_trunk=True,
        head_depth=1,
    )
    resolution = load_space("ppo").resolve(params, "discrete")
    assert isinstance(resolution, Resolution)
    kw = resolution.config.sb3_kwargs
    assert kw["gamma"] == 0.99
    assert kw["learning_rate"] == {"schedule": "linear", "initial": 1e-3, "final": 0.0}
    assert kw["policy_kwargs"]["shared_trunk"] == [64, 64]
    assert kw["policy_kwargs"]["net_arch"] == [64]
    assert kw["policy_kwargs"]["activation_fn"] == "relu"
    assert resolution.config.env.n_envs == 8
    for name in ("one_minus_gamma", "lr_schedule", "net_depth", "shared_trunk", "n_envs"):
        assert name not in kw
    json.dumps(resolution.config.to_dict())


def test_resolve_repairs_the_batch8_20epochs_monster() -> None:
    params = _ppo_params(n_envs=8, n_steps=32, batch_size=8, n_epochs=20)
    resolution = load_space("ppo").resolve(params, "discrete")
    kw = resolution.config.sb3_kwargs
    rollout = 32 * 8
    updates_per_step = kw["n_epochs"] * (rollout // kw["batch_size"]) / rollout
    assert updates_per_step <= 0.25
    assert 30_000 * updates_per_step <= 7_500  # a 30k-step trial, vs 75k updates unrepaired
    assert kw["n_epochs"] == 2 and kw["batch_size"] == 8
    assert any(r.startswith("n_epochs 20 -> 2") for r in resolution.repairs)


def test_resolve_repairs_batch_to_a_divisor_of_the_rollout() -> None:
    space = _space(
        {"n_steps": {"type": "categorical", "choices": [48]}, "batch_size": 32},
        constraints={"batch_divides_rollout": {}},
    )
    resolution = space.resolve({"n_steps": 48}, "discrete")
    assert resolution.config.sb3_kwargs["batch_size"] == 24
    assert resolution.repairs[0].startswith("batch_size 32 -> 24")
    small = load_space("ppo").resolve(_ppo_params(n_envs=1, n_steps=16, batch_size=64), "discrete")
    assert small.config.sb3_kwargs["batch_size"] == 16


def test_resolve_raises_when_no_repair_exists() -> None:
    space = _space({"n_steps": 7, "batch_size": 4}, constraints={"batch_divides_rollout": {}})
    with pytest.raises(SpaceError, match="infeasible: no divisor of the rollout"):
        space.resolve({}, "discrete")


def test_resolve_ppo_budget_raises_batch_when_one_epoch_is_too_many() -> None:
    space = _space(
        {"n_steps": 64, "batch_size": 2, "n_epochs": 3},
        constraints={"max_grad_updates_per_step": {"max": 0.125}},
    )
    resolution = space.resolve({}, "discrete")
    kw = resolution.config.sb3_kwargs
    assert kw["n_epochs"] == 1 and kw["batch_size"] == 8  # 8 minibatches per 64 steps
    assert len(resolution.repairs) == 2


def test_resolve_off_policy_budget() -> None:
    space = load_space("dqn")
    params = space.sample(FakeTrial(0), "discrete")
    params.update(train_freq=1, gradient_steps=8)
    resolution = space.resolve(params, "discrete")
    assert resolution.config.sb3_kwargs["gradient_steps"] == 1
    assert "gradient_steps 8 -> 1" in resolution.repairs[0]
    strict = _space(
        {"train_freq": 1, "gradient_steps": 2},
        algo="sac",
        constraints={"max_grad_updates_per_step": {"max": 0.25}},
    )
    kw = strict.resolve({}, "box").config.sb3_kwargs
    assert kw["gradient_steps"] == 1 and kw["train_freq"] == 4
    episodes = _space(
        {"train_freq": [1, "episode"], "gradient_steps": 1},
        algo="td3",
        constraints={"max_grad_updates_per_step": {"max": 0.5}},
    )
    assert episodes.resolve({}, "box").config.sb3_kwargs["train_freq"] == [2, "episode"]


def test_resolve_turns_gsde_off_outside_box_spaces() -> None:
    params = {"use_sde": {"type": "categorical", "choices": [True]}, "sde_sample_freq": 4}
    space = _space(params, constraints={"sde_requires_box": {}})
    resolution = space.resolve({"use_sde": True}, "discrete")
    kw = resolution.config.sb3_kwargs
    assert kw["use_sde"] is False and "sde_sample_freq" not in kw
    assert "gSDE needs a box action space" in resolution.repairs[0]
    assert space.resolve({"use_sde": True}, "box").config.sb3_kwargs["use_sde"] is True
    undeclared = _space(params)
    with pytest.raises(SpaceError, match="infeasible: use_sde needs a box action space"):
        undeclared.resolve({"use_sde": True}, "discrete")


def test_resolve_refuses_incompatible_or_unknown_action_spaces() -> None:
    dqn = load_space("dqn")
    params = dqn.sample(FakeTrial(0))
    with pytest.raises(SpaceError, match="infeasible: dqn cannot act in a box action space"):
        dqn.resolve(params, "box")
    with pytest.raises(SpaceError, match="unknown action-space kind 'continuous'"):
        dqn.resolve(params, "continuous")
    with pytest.raises(SpaceError, match="configuration outside space dqn"):
        dqn.resolve({**params, "batch_size": 3}, "discrete")


def test_resolve_sac_entropy_and_td3_noise() -> None:
    sac = load_space("sac")
    auto = sac.sample(FakeTrial(0), "box")
    auto.update(ent_coef_mode="auto", ent_coef_init=0.1, target_entropy_per_dim=-0.5)
    auto.pop("ent_coef_value", None)
    kw = sac.resolve(auto, "box").config.sb3_kwargs
    assert kw["ent_coef"] == "auto_0.1"
    assert kw["target_entropy"] == {"per_action_dim": -0.5}
    fixed = {k: v for k, v in auto.items() if k not in ("ent_coef_init", "target_entropy_per_dim")}
    fixed.update(ent_coef_mode="fixed", ent_coef_value=0.05)
    kw = sac.resolve(fixed, "box").config.sb3_kwargs
    assert kw["ent_coef"] == 0.05 and "target_entropy" not in kw
    td3 = load_space("td3")
    params = td3.sample(FakeTrial(0), "box")
    params.update(noise_type="ornstein_uhlenbeck", noise_std=0.3)
    kw = td3.resolve(params, "box").config.sb3_kwargs
    assert kw["action_noise"] == {"type": "ornstein_uhlenbeck", "sigma": 0.3}
    params.update(noise_type="none")
    params.pop("noise_std")
    assert "action_noise" not in td3.resolve(params, "box").config.sb3_kwargs


def test_spaces_import_no_torch_sb3_or_optuna() -> None:
    code = (
        "import sys\n"
        "from autorl.spaces import available_spaces, load_space\n"
        "for n in available_spaces():\n"
        "    s = load_space(n)\n"
        "    s.to_dict()\n"
        "heavy = [m for m in ('torch', 'stable_baselines3', 'optuna', 'gymnasium') "
        "if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_configurations_fit_the_run_budget():
    """No rollout larger than a quarter of the run, no warm-up past a quarter of it."""
    import optuna

    from autorl.spaces import load_space

    for algo, kind in (("ppo", "discrete"), ("a2c", "discrete"), ("sac", "box")):
        space = load_space(algo)
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
        for _ in range(30):
            params = space.sample(study.ask(), kind)
            config = space.resolve(params, kind, timesteps=3000).config
            kwargs, n_envs = config.sb3_kwargs, config.env.n_envs
            if algo in ("ppo", "a2c"):
                n_steps = kwargs.get("n_steps", 5 if algo == "a2c" else 2048)
                assert n_steps * n_envs <= 750
                if algo == "ppo":
                    assert (n_steps * n_envs) % kwargs.get("batch_size", 64) == 0
            else:
                assert kwargs.get("learning_starts", 100) <= 750
