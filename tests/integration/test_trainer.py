"""Tiny real training runs: results, pruning, failure classification, save/load."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from autorl.errors import TrialFailure
from autorl.training.artifacts import ArtifactError, load_trained, save_trained
from autorl.training.trainer import train_and_evaluate, train_model
from autorl.types import (
    EnvSettings,
    EvalSettings,
    FailureReason,
    TaskSpec,
    TrainConfig,
    TrainSpec,
)
from tests.fixtures.envs import (
    CountingEnv,
    HugeRewardEnv,
    InfObsEnv,
    InfRewardEnv,
    NanObsEnv,
    NanRewardEnv,
    RaisingEnv,
    entry_point,
)

pytestmark = pytest.mark.integration

TINY = {"net_arch": [16]}
OFF_POLICY = {"learning_starts": 50, "buffer_size": 500, "batch_size": 16, "policy_kwargs": TINY}
CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "ppo": ("CartPole-v1", {"n_steps": 64, "batch_size": 32, "n_epochs": 2, "policy_kwargs": TINY}),
    "a2c": ("CartPole-v1", {"n_steps": 8, "policy_kwargs": TINY}),
    "dqn": ("CartPole-v1", OFF_POLICY),
    "sac": ("Pendulum-v1", OFF_POLICY),
    "td3": ("Pendulum-v1", OFF_POLICY),
}
SHORT_PENDULUM = {"max_episode_steps": 50}


def make_spec(
    algo: str,
    task: TaskSpec,
    sb3_kwargs: dict[str, Any],
    timesteps: int = 300,
    settings: EnvSettings | None = None,
    n_evaluations: int = 3,
    max_wall_s: float | None = None,
) -> TrainSpec:
    return TrainSpec(
        task=task,
        config=TrainConfig(algo, "MlpPolicy", sb3_kwargs, settings or EnvSettings()),
        timesteps=timesteps,
        seed=7,
        evaluation=EvalSettings(n_evaluations=n_evaluations, episodes=2, seed=100),
        max_wall_s=max_wall_s,
    )


def fixture_task(cls: type) -> TaskSpec:
    return TaskSpec(f"AutorlTest{cls.__name__}-v0", entry_point=entry_point(cls))


@pytest.mark.parametrize("algo", sorted(CONFIGS))
def test_each_algorithm_trains_and_is_evaluated(algo: str) -> None:
    env_id, sb3_kwargs = CONFIGS[algo]
    kwargs = SHORT_PENDULUM if env_id == "Pendulum-v1" else {}
    reports: list[tuple[int, float]] = []

    def report(step: int, value: float) -> bool:
        reports.append((step, value))
        return True

    spec = make_spec(algo, TaskSpec(env_id, env_kwargs=kwargs), sb3_kwargs)
    result = train_and_evaluate(spec, report)

    assert len(result.curve) == 3
    # reported at the scheduled steps (equal for every trial), stored at the env steps reached
    assert reports == [(s, e.mean) for s, e in zip([100, 200, 300], result.curve, strict=True)]
    steps = [e.step for e in result.curve]
    assert steps == sorted(steps) and steps[-1] == result.env_steps >= 300
    assert result.score == result.curve[-1].mean
    assert all(len(e.returns) == 2 for e in result.curve)
    assert not result.pruned and result.wall_s > 0


@pytest.mark.parametrize(("algo", "continuous"), [("ppo", False), ("sac", True)])
def test_lunar_lander_trains_with_the_box2d_extra(algo: str, continuous: bool) -> None:
    pytest.importorskip(
        "Box2D", reason="LunarLander needs the box2d extra: pip install autorl[box2d]"
    )
    kwargs = {"continuous": continuous, "max_episode_steps": 60}
    sb3 = OFF_POLICY if algo == "sac" else CONFIGS["ppo"][1]
    result = train_and_evaluate(make_spec(algo, TaskSpec("LunarLander-v3", env_kwargs=kwargs), sb3))
    assert len(result.curve) == 3 and result.env_steps >= 300


def test_same_seed_gives_the_same_curve() -> None:
    spec = make_spec("a2c", TaskSpec("CartPole-v1"), CONFIGS["a2c"][1])
    assert train_and_evaluate(spec).curve == train_and_evaluate(spec).curve


def test_report_returning_false_prunes() -> None:
    spec = make_spec("a2c", TaskSpec("CartPole-v1"), CONFIGS["a2c"][1], timesteps=2000)
    result = train_and_evaluate(spec, lambda step, value: False)
    assert result.pruned
    assert len(result.curve) == 1
    assert result.env_steps < 2000
    assert result.score == result.curve[0].mean


@pytest.mark.parametrize(
    ("cls", "needle"),
    [
        (NanRewardEnv, "NaN/inf reward"),
        (InfRewardEnv, "NaN/inf reward"),
        (NanObsEnv, "NaN/inf in its observation"),
        (InfObsEnv, "NaN/inf in its observation"),
        (RaisingEnv, "RuntimeError: simulated solver failure"),
    ],
)
def test_environment_faults_are_env_errors(cls: type, needle: str) -> None:
    spec = make_spec("a2c", fixture_task(cls), CONFIGS["a2c"][1])
    with pytest.raises(TrialFailure) as info:
        train_and_evaluate(spec)
    assert info.value.reason is FailureReason.ENV_ERROR
    assert needle in info.value.message
    assert fixture_task(cls).env_id in info.value.message


def test_raising_env_message_points_into_the_env() -> None:
    spec = make_spec("dqn", fixture_task(RaisingEnv), OFF_POLICY)
    with pytest.raises(TrialFailure) as info:
        train_and_evaluate(spec)
    assert "tests/fixtures/envs.py" in info.value.message
    assert "after 50 steps" in info.value.message


@pytest.mark.parametrize(
    ("task", "sb3_kwargs"),
    [
        # Box actions: the Gaussian's mean or scale goes NaN/0 within the first update.
        (
            TaskSpec("Pendulum-v1", env_kwargs=SHORT_PENDULUM),
            {**CONFIGS["ppo"][1], "learning_rate": 1e6},
        ),
        # Discrete actions: 1e38 rewards overflow float32 returns, the logits become NaN.
        (fixture_task(HugeRewardEnv), CONFIGS["ppo"][1]),
    ],
    ids=["huge-learning-rate", "huge-rewards"],
)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_is_detected(task: TaskSpec, sb3_kwargs: dict[str, Any]) -> None:
    spec = make_spec("ppo", task, sb3_kwargs)
    with pytest.raises(TrialFailure) as info:
        train_and_evaluate(spec)
    assert info.value.reason is FailureReason.DIVERGED
    assert "learning_rate" in info.value.message


def test_wall_clock_limit_times_out() -> None:
    spec = make_spec("a2c", fixture_task(CountingEnv), CONFIGS["a2c"][1], 10**6, max_wall_s=0.2)
    with pytest.raises(TrialFailure) as info:
        train_and_evaluate(spec)
    assert info.value.reason is FailureReason.TIMEOUT
    assert "0.2 s" in info.value.message and "--trial-timeout" in info.value.message


def test_save_load_reproduces_the_score_with_vecnormalize(tmp_path: Path) -> None:
    settings = EnvSettings(n_envs=2, normalize_obs=True, normalize_reward=True)
    sb3_kwargs = {
        **CONFIGS["ppo"][1],
        "learning_rate": {"schedule": "linear", "initial": 3e-4},
        "policy_kwargs": {"net_arch": [16], "activation_fn": "tanh"},
    }
    spec = make_spec("ppo", TaskSpec("CartPole-v1"), sb3_kwargs, 512, settings)
    result = train_and_evaluate(spec)

    model, venv = train_model(spec)
    try:
        paths = save_trained(model, venv, tmp_path / "best" / "model", spec.task, spec.config)
    finally:
        venv.close()
    assert [p.name for p in paths] == [
        "model.zip",
        "model.vecnormalize.pkl",
        "model.autorl.json",
    ]

    loaded = load_trained(tmp_path / "best" / "model.zip")
    assert loaded.task == spec.task and loaded.config == spec.config
    assert loaded.norm is not None and loaded.norm.norm_obs
    again = loaded.evaluate(spec.evaluation.episodes, spec.evaluation.seed)
    assert again.returns == result.curve[-1].returns
    assert again.mean == result.score

    (tmp_path / "best" / "model.vecnormalize.pkl").unlink()
    with pytest.raises(ArtifactError, match=r"model\.vecnormalize\.pkl is missing"):
        load_trained(tmp_path / "best" / "model.zip")


def test_load_errors_name_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="no model file"):
        load_trained(tmp_path / "nothing.zip")
    with zipfile.ZipFile(tmp_path / "fake.zip", "w") as archive:
        archive.writestr("hello.txt", "not a model")
    with pytest.raises(ArtifactError, match=r"fake\.autorl\.json is missing"):
        load_trained(tmp_path / "fake.zip")
    spec = make_spec("a2c", TaskSpec("CartPole-v1"), CONFIGS["a2c"][1])
    sidecar = {"algo": "a2c", "task": spec.task.to_dict(), "config": spec.config.to_dict()}
    (tmp_path / "fake.autorl.json").write_text(json.dumps(sidecar))
    with pytest.raises(ArtifactError, match="not a Stable-Baselines3 model"):
        load_trained(tmp_path / "fake.zip")
