"""Segments of population-based training on real SB3 models: a checkpoint restores what was
trained, and new hyperparameters are the ones SB3 uses after a restore (Ray #62173)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from autorl.training.envs import make_vec_env
from autorl.training.segments import (
    SegmentSpec,
    live_hyperparameters,
    restore_checkpoint,
    train_schedule,
    train_segment,
)
from autorl.types import EnvSettings, TaskSpec, TrainConfig

CARTPOLE = TaskSpec("CartPole-v1")
PENDULUM = TaskSpec("Pendulum-v1")
TINY = {"net_arch": [16]}


def ppo(lr: float, clip: float, ent: float, **env: bool) -> TrainConfig:
    kwargs = {"learning_rate": lr, "clip_range": clip, "ent_coef": ent, "n_steps": 64}
    kwargs |= {"batch_size": 32, "n_epochs": 2, "policy_kwargs": TINY}
    return TrainConfig("ppo", "MlpPolicy", kwargs, EnvSettings(n_envs=2, **env))


def segment(config: TrainConfig, until: int, task: TaskSpec = CARTPOLE, seed: int = 0):
    return SegmentSpec(task, config, seed, until, 1024, episodes=2, eval_seed=100)


def reload(data: bytes, config: TrainConfig, task: TaskSpec = CARTPOLE):
    venv = make_vec_env(task, config.env, seed=1)
    return restore_checkpoint(data, config, venv), venv


def test_a_perturbation_is_what_sb3_uses_after_a_restore():
    first = train_segment(segment(ppo(3e-4, 0.2, 0.0), 256), None)
    assert first.env_steps == 256 and len(first.evaluation.returns) == 2
    changed = ppo(1.5e-3, 0.3, 0.01)
    second = train_segment(segment(changed, 512, seed=1), first.checkpoint)
    assert second.env_steps == 512  # the member went on from its checkpoint, not from zero
    model, venv = reload(second.checkpoint, changed)
    live = live_hyperparameters(model)
    venv.close()
    assert live["learning_rate"] == pytest.approx(1.5e-3)
    assert live["clip_range"] == pytest.approx(0.3)
    assert live["ent_coef"] == pytest.approx(0.01)
    # and what the optimiser held while the second segment trained
    assert second.applied["learning_rate"] == pytest.approx(1.5e-3)


def test_a_restore_carries_the_weights_and_the_normalisation():
    config = ppo(3e-4, 0.2, 0.0, normalize_obs=True, normalize_reward=True)
    result = train_segment(segment(config, 256), None)
    model, venv = reload(result.checkpoint, config)
    stats = venv.obs_rms
    assert stats.count > 256  # the training statistics, not a fresh estimator
    with zipfile.ZipFile(io.BytesIO(result.checkpoint)) as archive:
        saved = np.load(io.BytesIO(archive.read("vecnormalize.npz")))
        assert np.allclose(saved["obs/mean"], stats.mean)
    again = train_segment(segment(config, 256), result.checkpoint)  # nothing left to train
    assert again.env_steps == 256
    twin, twin_venv = reload(again.checkpoint, config)
    weights, restored = model.policy.state_dict(), twin.policy.state_dict()
    assert all(np.array_equal(weights[k].numpy(), restored[k].numpy()) for k in weights)
    venv.close()
    twin_venv.close()


def test_a_mismatched_configuration_is_refused():
    result = train_segment(segment(ppo(3e-4, 0.2, 0.0, normalize_obs=True), 128), None)
    with pytest.raises(ValueError, match="normalisation does not match"):
        reload(result.checkpoint, ppo(3e-4, 0.2, 0.0))


def test_an_off_policy_member_keeps_its_replay_buffer_and_takes_a_new_tau():
    def sac(lr: float, tau: float) -> TrainConfig:
        kwargs = {"learning_rate": lr, "tau": tau, "learning_starts": 50, "batch_size": 32}
        kwargs |= {"buffer_size": 1000, "policy_kwargs": TINY}
        return TrainConfig("sac", "MlpPolicy", kwargs, EnvSettings())

    first = train_segment(segment(sac(1e-3, 0.005), 150, PENDULUM), None)
    changed = sac(3e-4, 0.05)
    second = train_segment(segment(changed, 300, PENDULUM, seed=1), first.checkpoint)
    model, venv = reload(second.checkpoint, changed, PENDULUM)
    assert model.replay_buffer.pos == 300  # 150 carried over + 150 new transitions
    live = live_hyperparameters(model)
    venv.close()
    assert live["tau"] == pytest.approx(0.05)
    assert live["learning_rate"] == pytest.approx(3e-4)


def test_dqn_exploration_runs_over_the_whole_run():
    def dqn(final_eps: float) -> TrainConfig:
        kwargs = {"exploration_fraction": 0.5, "exploration_final_eps": final_eps}
        kwargs |= {"learning_starts": 50, "buffer_size": 1000, "policy_kwargs": TINY}
        return TrainConfig("dqn", "MlpPolicy", kwargs, EnvSettings())

    first = train_segment(segment(dqn(0.1), 256), None)
    model, venv = reload(first.checkpoint, dqn(0.1))
    venv.close()
    # 256 of 1024 steps: a quarter of the run, half of the exploration phase: eps ~ 0.55
    assert model.exploration_rate == pytest.approx(0.55, abs=0.05)
    second = train_segment(segment(dqn(0.02), 1024, seed=1), first.checkpoint)
    model, venv = reload(second.checkpoint, dqn(0.02))
    venv.close()
    assert model.exploration_rate == pytest.approx(0.02)


def test_a_schedule_replays_its_changes_at_their_steps():
    configs = [ppo(3e-4, 0.2, 0.0), ppo(1e-3, 0.1, 0.02)]
    model, venv = train_schedule(CARTPOLE, [0, 256], configs, 512, seed=0)
    live = live_hyperparameters(model)
    venv.close()
    assert model.num_timesteps == 512
    assert live["learning_rate"] == pytest.approx(1e-3)
    assert live["clip_range"] == pytest.approx(0.1) and live["ent_coef"] == pytest.approx(0.02)
    with pytest.raises(ValueError, match="first at 0"):
        train_schedule(CARTPOLE, [128], configs[:1], 512, seed=0)
