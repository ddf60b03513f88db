"""Ctrl-C or SIGTERM at any moment of a worker's loop leaves no trial RUNNING."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from optuna.trial import TrialState

from autorl.runtime import runner
from autorl.runtime.interrupts import deferred_signals
from autorl.runtime.runner import WorkerOptions, run_worker
from autorl.study import attrs
from autorl.study.accounting import finished_count
from autorl.study.recovery import worker_identity
from tests.unit.test_search_budget import fake_train, new_study


@pytest.fixture(autouse=True)
def _python_s_own_sigint_handler():
    """These tests start from Python's SIGINT handler (KeyboardInterrupt). In the whole
    suite an earlier test leaves another one installed (seen in CI after the integration
    tests; which test is not found yet), so the precondition is set here, and restored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_signal_inside_the_block_is_delivered_after_it():
    steps = []
    with pytest.raises(KeyboardInterrupt), deferred_signals():
        os.kill(os.getpid(), signal.SIGINT)
        steps.append("after the signal")
    assert steps == ["after the signal"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def _abandoned_and_requeued(study) -> None:
    trials = study.get_trials()
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    stopped = [t for t in trials if t.state == TrialState.FAIL]
    assert len(stopped) == 1 and stopped[0].user_attrs[attrs.FAILURE_REASON] == "killed"
    assert "stopped" in stopped[0].user_attrs[attrs.FAILURE_MESSAGE]
    waiting = [t for t in trials if t.state == TrialState.WAITING]
    assert len(waiting) == 1
    assert waiting[0].user_attrs[attrs.REQUEUED_FROM] == stopped[0].number
    assert finished_count(trials) == 1


def test_ctrl_c_during_training_requeues_the_trial(sqlite_url):
    study = new_study(sqlite_url, budget=3)
    calls = []

    def train(spec, report=None):
        calls.append(spec)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return fake_train(spec, report)

    with pytest.raises(KeyboardInterrupt):
        run_worker(WorkerOptions(sqlite_url, "s"), train=train)
    _abandoned_and_requeued(study)
    run_worker(WorkerOptions(sqlite_url, "s"), train=fake_train)  # resume: budget exact
    assert finished_count(study.get_trials()) == 3


def test_a_signal_while_claiming_requeues_the_claimed_trial(sqlite_url, monkeypatch):
    study = new_study(sqlite_url, budget=3)
    claims = []

    def identity_then_signal() -> str:
        claims.append(1)
        if len(claims) == 2:  # the second claim: after the trial exists, before it is returned
            os.kill(os.getpid(), signal.SIGINT)
        return worker_identity()

    monkeypatch.setattr(runner, "worker_identity", identity_then_signal)
    with pytest.raises(KeyboardInterrupt):
        run_worker(WorkerOptions(sqlite_url, "s"), train=fake_train)
    _abandoned_and_requeued(study)


def test_a_swallowed_stop_is_raised_again_by_the_training_loop(sqlite_url):
    """A signal whose exception was lost in a finaliser still stops the run at the next step."""
    import gymnasium as gym
    from stable_baselines3.common.vec_env import DummyVecEnv

    from autorl.stop import clear_stop, request_stop
    from autorl.training.guards import Deadline, TrialGuard

    guard = TrialGuard(DummyVecEnv([lambda: gym.make("CartPole-v1")]), Deadline(None))
    guard.reset()
    request_stop()
    try:
        with pytest.raises(KeyboardInterrupt):
            guard.step(np.zeros((guard.num_envs,), dtype=np.int64))
        study = new_study(sqlite_url, budget=2)
        with pytest.raises(KeyboardInterrupt):
            run_worker(WorkerOptions(sqlite_url, "s"), train=fake_train)
        assert study.get_trials() == []  # stopped before claiming anything
    finally:
        clear_stop()
