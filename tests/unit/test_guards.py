"""Failure detection without training: env faults, NaN actions, deadlines, classification."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

from autorl.errors import TrialFailure, UsageError
from autorl.training.guards import Deadline, EnvGuard, TrialGuard, classify
from autorl.types import EvalSettings, FailureReason
from tests.fixtures.envs import ContinuousEnv, CountingEnv, NanObsEnv, RaisingEnv


def test_env_exceptions_become_env_errors_with_location() -> None:
    env = EnvGuard(RaisingEnv(fail_after=2), "Raising-v0")
    env.reset(seed=0)
    env.step(0)
    env.step(1)
    with pytest.raises(TrialFailure) as info:
        env.step(0)
    assert info.value.reason is FailureReason.ENV_ERROR
    assert "Raising-v0 raised in step (after 2 steps" in info.value.message
    assert "matrix is singular" in info.value.message and "envs.py" in info.value.message
    assert isinstance(info.value.__cause__, RuntimeError)


def test_nan_observation_is_an_env_error() -> None:
    env = EnvGuard(NanObsEnv(), "NanObs-v0")
    env.reset(seed=0)
    for action in (0, 1):
        env.step(action)
    with pytest.raises(TrialFailure, match="NaN/inf in its observation"):
        env.step(0)


def test_nan_action_diverges_and_deadline_times_out() -> None:
    venv = TrialGuard(DummyVecEnv([ContinuousEnv]), Deadline(None))
    venv.reset()
    venv.step(np.array([[0.5]], dtype=np.float32))
    with pytest.raises(TrialFailure) as info:
        venv.step(np.array([[math.nan]], dtype=np.float32))
    assert info.value.reason is FailureReason.DIVERGED

    late = TrialGuard(DummyVecEnv([CountingEnv]), Deadline(0.0), check_every=4)
    late.reset()
    with pytest.raises(TrialFailure) as info:
        late.step(np.array([0]))
    assert info.value.reason is FailureReason.TIMEOUT


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (MemoryError(), FailureReason.OOM),
        (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), FailureReason.OOM),
        (torch.cuda.OutOfMemoryError("CUDA error"), FailureReason.OOM),
        (
            ValueError(
                "Expected parameter logits (Tensor of shape (1, 2)) of distribution "
                "Categorical(logits: torch.Size([1, 2])) to satisfy the constraint "
                "IndependentConstraint(Real(), 1), but found invalid values:\ntensor([[nan, nan]])"
            ),
            FailureReason.DIVERGED,
        ),
    ],
)
def test_classify(exc: BaseException, reason: FailureReason) -> None:
    failure = classify(exc, None)
    assert failure is not None and failure.reason is reason


def test_bugs_are_not_classified() -> None:
    assert classify(KeyError("batch_size"), None) is None
    assert classify(KeyboardInterrupt(), None) is None
    failure = TrialFailure(FailureReason.TIMEOUT, "late")
    assert classify(failure, None) is failure


def test_nan_parameters_name_the_parameter() -> None:
    model = PPO(
        "MlpPolicy",
        DummyVecEnv([CountingEnv]),
        n_steps=8,
        batch_size=8,
        policy_kwargs={"net_arch": [4]},
    )
    with torch.no_grad():
        model.policy.action_net.weight[0, 0] = math.nan
    failure = classify(RuntimeError("anything"), model)
    assert failure is not None and failure.reason is FailureReason.DIVERGED
    assert "action_net.weight" in failure.message


def test_evaluation_steps_are_evenly_spaced() -> None:
    assert EvalSettings(n_evaluations=3).steps_before_end(300) == [100, 200]
    assert EvalSettings(n_evaluations=1).steps_before_end(1000) == []
    with pytest.raises(UsageError, match="n_evaluations"):
        EvalSettings(n_evaluations=0).steps_before_end(1000)
