"""Killed runs resume without losing or double-counting anything; parallel workers on SQLite."""

from __future__ import annotations

import signal
import time

import optuna
import pytest
from optuna.trial import TrialState

from autorl.study.accounting import finished_count
from tests.integration.cli_helpers import pid_alive, spawn_cli, trials

pytestmark = pytest.mark.integration


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def running(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    """The RUNNING trials that a worker has claimed (its identity is recorded)."""
    try:
        return [
            t
            for t in trials(url, name)
            if t.state == TrialState.RUNNING and "worker" in t.user_attrs
        ]
    except KeyError:
        return []


def test_sigkill_mid_trial_then_resume_requeues_and_finishes_exactly(tmp_path, sqlite_url):
    args = [
        "tune",
        "CartPole-v1",
        "--trials",
        "2",
        "--timesteps",
        "1000",
        "--evaluations",
        "2",
        "--eval-episodes",
        "2",
        "--n-envs",
        "1",
        "--validation-seeds",
        "0",
        "--seeds",  # every trial runs 3 seeds (racing could stop a poor one after its first)
        "3",
        "--storage",
        sqlite_url,
        "--study",
        "k",
        "--no-progress",
    ]
    proc = spawn_cli(args, tmp_path)
    try:
        # kill the process once a trial has finished its first seed run (two more to go)
        wait_for(
            lambda: (
                any(t.user_attrs.get("seeds") for t in running(sqlite_url, "k"))
                or proc.poll() is not None
            ),
            120,
            "a trial's first seed run",
        )
        assert proc.poll() is None, proc.communicate()[1]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed = running(sqlite_url, "k")
    assert len(killed) == 1, "the killed process left its trial RUNNING"
    victim = killed[0]

    resume = spawn_cli(["resume", "k", "--storage", sqlite_url, "--no-progress"], tmp_path)
    out, err = resume.communicate(timeout=300)
    assert resume.returncode == 0, err

    after = trials(sqlite_url, "k")
    dead = after[victim.number]
    assert dead.state == TrialState.FAIL and dead.user_attrs["failure_reason"] == "killed"
    assert "died mid-trial; queued again" in dead.user_attrs["failure_message"]
    retried = [t for t in after if t.user_attrs.get("requeued_from") == victim.number]
    assert len(retried) == 1 and retried[0].state in (TrialState.COMPLETE, TrialState.PRUNED)
    assert retried[0].params == victim.params
    # the seed runs the killed worker finished are taken over, not trained or counted again
    done = victim.user_attrs["seeds"]
    taken = [s for s in retried[0].user_attrs["seeds"] if s.get("from_trial") == victim.number]
    assert len(taken) == len(done) >= 1
    own = [s for s in retried[0].user_attrs["seeds"] if "from_trial" not in s]
    assert retried[0].user_attrs["env_steps"] == sum(s["env_steps"] for s in own)
    assert finished_count(after) == 2
    assert "best trial" in out


def test_two_worker_processes_on_sqlite_finish_the_budget_exactly(tmp_path, sqlite_url):
    proc = spawn_cli(
        [
            "tune",
            "CartPole-v1",
            "--trials",
            "4",
            "--jobs",
            "2",
            "--timesteps",
            "600",
            "--evaluations",
            "2",
            "--eval-episodes",
            "2",
            "--validation-seeds",
            "0",
            "--storage",
            sqlite_url,
            "--study",
            "par",
            "--no-progress",
            "--sampler-seed",  # a seeded run: each worker must still propose its own points
            "7",
        ],
        tmp_path,
    )
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "database is locked" not in err
    done = trials(sqlite_url, "par")
    assert finished_count(done) == 4 and len(done) == 4
    workers = {t.user_attrs["worker"] for t in done}
    assert len(workers) == 2, "both worker processes ran trials"
    proposed = [t for t in done if not str(t.user_attrs.get("source")).startswith("rerace:")]
    unique = {tuple(sorted(t.params.items())) for t in proposed}
    assert len(unique) == len(proposed), "no duplicated proposals (a re-race repeats on purpose)"


@pytest.mark.parametrize("jobs", [1, 2])
def test_sigterm_stops_the_run_and_requeues_its_running_trials(tmp_path, sqlite_url, jobs):
    args = [
        "tune",
        "CartPole-v1",
        "--trials",
        "4",
        "--jobs",
        str(jobs),
        "--timesteps",
        "20000",
        "--evaluations",
        "2",
        "--eval-episodes",
        "2",
        "--n-envs",
        "1",
        "--validation-seeds",
        "0",
        "--storage",
        sqlite_url,
        "--study",
        "t",
        "--no-progress",
    ]
    proc = spawn_cli(args, tmp_path)
    try:
        wait_for(
            lambda: len(running(sqlite_url, "t")) == jobs or proc.poll() is not None,
            120,
            "running trials",
        )
        assert proc.poll() is None, proc.communicate()[1]
        workers = [int(t.user_attrs["worker"].rsplit(":", 1)[1]) for t in running(sqlite_url, "t")]
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    for pid in workers:
        wait_for(lambda pid=pid: not pid_alive(pid), 30, f"worker {pid} to exit")
    after = trials(sqlite_url, "t")
    assert not [t for t in after if t.state == TrialState.RUNNING]
    assert len([t for t in after if t.state == TrialState.WAITING]) == jobs  # re-queued
    assert proc.returncode == 130
    assert finished_count(after) == 0
