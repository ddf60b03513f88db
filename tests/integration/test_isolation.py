"""A trial cannot take its worker down: seed runs train in a child process (real SB3, real
crashes: an env that calls ``os.abort()``), crashes are failures with their signal, retried a
bounded number of times, and a study whose trials keep crashing is paused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import optuna
import pytest

from autorl.errors import StudyError, TrialFailure
from autorl.runtime import isolation
from autorl.runtime.isolation import IsolatedTrain, death_message
from autorl.runtime.runner import WorkerOptions, run_worker
from autorl.runtime.submit import resume_study, start_study
from autorl.spaces import load_space
from autorl.study import attrs
from autorl.study.config import StudyConfig, tuning_evaluation
from autorl.study.record import State, read
from autorl.study.storage import open_storage
from autorl.training.trainer import train_and_evaluate
from autorl.types import FailureReason, TaskSpec
from tests.fixtures.envs import AbortingEnv, CountingEnv, MemoryHogEnv, entry_point
from tests.fixtures.processes import run_script
from tests.integration.cli_helpers import pid_alive
from tests.integration.test_trainer import CONFIGS, make_spec

pytestmark = pytest.mark.integration

PPO_ID, PPO_KWARGS = CONFIGS["ppo"]


def _task(cls: type, **kwargs) -> TaskSpec:
    return TaskSpec(f"AutorlTest{cls.__name__}-v0", entry_point=entry_point(cls), env_kwargs=kwargs)


def test_a_child_trains_what_the_worker_would_and_reports_through_it():
    spec = make_spec("ppo", TaskSpec(PPO_ID), PPO_KWARGS)
    reports: dict[str, list[tuple[int, float]]] = {"child": [], "here": []}

    def recorder(where: str):
        return lambda step, value: reports[where].append((step, value)) or True

    isolated = IsolatedTrain(train_and_evaluate)(spec, recorder("child"))
    here = train_and_evaluate(spec, recorder("here"))
    assert isolated.curve == here.curve and isolated.env_steps == here.env_steps
    assert reports["child"] == reports["here"] and len(reports["here"]) == 3


def test_the_workers_answer_prunes_the_child():
    spec = make_spec("ppo", TaskSpec(PPO_ID), PPO_KWARGS)
    result = IsolatedTrain(train_and_evaluate)(spec, lambda step, value: False)
    assert result.pruned and len(result.curve) == 1


def test_a_crash_is_a_failure_naming_its_signal_and_the_worker_goes_on():
    spec = make_spec("ppo", _task(AbortingEnv, abort_after=100), PPO_KWARGS)
    with pytest.raises(TrialFailure) as failure:
        IsolatedTrain(train_and_evaluate)(spec)
    assert failure.value.reason is FailureReason.CRASHED
    assert "SIGABRT (signal 6)" in failure.value.message
    assert IsolatedTrain(train_and_evaluate)(make_spec("ppo", _task(CountingEnv), PPO_KWARGS))


def test_a_child_that_outlives_its_limit_is_killed(monkeypatch):
    monkeypatch.setattr(isolation, "GRACE_S", 0.5)
    spec = make_spec("ppo", TaskSpec(PPO_ID), PPO_KWARGS, timesteps=10**7, max_wall_s=0.5)
    began = time.monotonic()
    with pytest.raises(TrialFailure) as failure:
        IsolatedTrain(_sleep_forever)(spec)
    assert failure.value.reason is FailureReason.TIMEOUT and time.monotonic() - began < 10


def _sleep_forever(spec, report=None):  # module level: a child can import it
    while True:
        time.sleep(1)


def test_a_stop_of_the_worker_ends_its_child(monkeypatch):
    # A wall-clock limit bounds the test: a stop that never arrives fails it in a minute,
    # not at pytest's 300 s timeout.
    monkeypatch.setattr(isolation, "GRACE_S", 0.5)
    spec = make_spec("ppo", TaskSpec(PPO_ID), PPO_KWARGS, timesteps=10**7, max_wall_s=60)
    pids: list[int] = []
    main = threading.main_thread().ident

    def started(step: int, pid: float) -> bool:  # the child runs: Ctrl-C the worker
        pids.append(int(pid))
        threading.Timer(0.2, lambda: signal.pthread_kill(main, signal.SIGINT)).start()
        return True

    # Ctrl-C raises KeyboardInterrupt only where Python installed its handler: a process
    # started in the background by a non-interactive shell begins with SIGINT ignored.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            IsolatedTrain(_report_pid_then_sleep)(spec, started)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert pids and not pid_alive(pids[0])


def _report_pid_then_sleep(spec, report=None):
    report(0, float(os.getpid()))
    _sleep_forever(spec)


def test_an_exit_status_reads_as_such():
    assert "exited with status 3" in death_message(3, 1.0)
    assert "OOM killer" in death_message(-signal.SIGKILL, 1.0)


# Training runs one env for 1,000 steps: it aborts at step 400; the parent's checks of the
# task (a smoke test, 10 random episodes of 20 steps) stay below that.
CRASH_AT = 400


def _study(
    url: str, task: TaskSpec, budget: int, max_retries: int, memory_limit_mb: int | None = None
) -> optuna.Study:
    config = StudyConfig(
        task=task,
        algo="ppo",
        space=load_space("ppo").with_fixed({"n_envs": 1}).to_dict(),
        timesteps=1000,
        evaluation=tuning_evaluation(2, 2),
        pruner="none",
        validation_seeds=0,
        device="cpu",
        max_retries=max_retries,
        memory_limit_mb=memory_limit_mb,
    )
    return start_study("s", url, config, budget).study


def _reasons(study: optuna.Study) -> list[str | None]:
    return [t.user_attrs.get(attrs.FAILURE_REASON) for t in study.get_trials(deepcopy=False)]


def test_a_crashing_configuration_is_retried_then_fails_for_good(sqlite_url):
    study = _study(sqlite_url, _task(AbortingEnv, abort_after=CRASH_AT), budget=1, max_retries=1)
    assert run_worker(WorkerOptions(sqlite_url, "s")) == 2  # the try and its one retry
    assert _reasons(study) == [FailureReason.REQUEUED.value, FailureReason.CRASHED.value]
    first, second = study.get_trials(deepcopy=False)
    assert second.params == first.params and second.user_attrs[attrs.RETRIES] == 1
    assert "SIGABRT" in second.user_attrs[attrs.FAILURE_MESSAGE]


def test_a_retry_after_a_crash_can_succeed(sqlite_url, tmp_path):
    marker = str(tmp_path / "crashed-once")
    study = _study(sqlite_url, _task(AbortingEnv, abort_after=CRASH_AT, once_marker=marker), 1, 2)
    run_worker(WorkerOptions(sqlite_url, "s"))
    states = [t.state for t in study.get_trials(deepcopy=False)]
    assert states == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE]
    assert _reasons(study)[0] == FailureReason.REQUEUED.value


def test_a_study_memory_limit_fails_its_hungry_trial_as_oom_and_the_worker_goes_on(sqlite_url):
    """The study's ``memory_limit_mb`` reaches each seed run's child: a configuration that
    asks for 16 GB past it fails as ``oom`` (not retried: it would ask again), and the worker
    goes on."""
    task = _task(MemoryHogEnv, gigabytes=16.0, hog_at=CRASH_AT)
    study = _study(sqlite_url, task, budget=1, max_retries=2, memory_limit_mb=8192)
    assert run_worker(WorkerOptions(sqlite_url, "s")) == 1
    [failed] = study.get_trials(deepcopy=False)
    assert failed.state == optuna.trial.TrialState.FAIL
    assert failed.user_attrs[attrs.FAILURE_REASON] == FailureReason.OOM.value
    assert "memory" in failed.user_attrs[attrs.FAILURE_MESSAGE]


def test_a_study_whose_trials_keep_crashing_is_paused(sqlite_url):
    study = _study(sqlite_url, _task(AbortingEnv, abort_after=CRASH_AT), budget=10, max_retries=2)
    with pytest.raises(StudyError, match="paused"):
        run_worker(WorkerOptions(sqlite_url, "s"))
    record = read(optuna.load_study(study_name="s", storage=open_storage(sqlite_url)))
    assert record.operator is State.PAUSED and "died" in record.operator_reason
    states = [t.state for t in study.get_trials(deepcopy=False)]
    # 4 configurations on their 3 tries, the 5th on its first (a retry is the same
    # configuration: counted once); then no more
    assert states.count(optuna.trial.TrialState.FAIL) == 13
    failed = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.FAIL]
    assert len({json.dumps(t.params, sort_keys=True) for t in failed}) == 5
    assert states[13:] == [optuna.trial.TrialState.WAITING]  # waits for a resume
    resume_study("s", sqlite_url, None)  # the operator's word: go on
    assert read(optuna.load_study(study_name="s", storage=open_storage(sqlite_url))).active


TUNE_IN_A_FRESH_PROCESS = """
import sys
from autorl.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("torch", "stable_baselines3") if m in sys.modules)
print("heavy modules in the tuning process:", heavy)
sys.exit(code)
"""


def test_a_tuning_process_whose_runs_train_in_children_imports_no_torch(tmp_path):
    """`autorl tune` hands every seed run (trials and the test on unseen seeds) to children
    forked from its fork server, so its own process never pays torch's import (~1-2 s), and
    the fork server, started before the study is created, imports it meanwhile."""
    url = f"sqlite:///{tmp_path / 'tune.db'}"
    args = ["tune", "CartPole-v1", "--trials", "2", "--timesteps", "300", "--seeds", "1"]
    args += ["--evaluations", "2", "--eval-episodes", "2", "--test-seeds", "1"]
    args += ["--no-progress", "--warm-start", "none", "--storage", url, "--study", "s"]
    out = run_script(TUNE_IN_A_FRESH_PROCESS, *args, cwd=tmp_path)
    assert "heavy modules in the tuning process: []" in out
    assert "test on unseen seeds [100000]" in out
    study = optuna.load_study(study_name="s", storage=url)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2


def test_a_process_that_exits_while_its_fork_server_imports_takes_the_server_along(tmp_path):
    # A tune stopped early exits in a second, while its fork server may still be importing
    # torch (over a minute on a loaded machine) with the tune's stdout and stderr open.
    script = (
        "from multiprocessing import forkserver\n"
        "from autorl.runtime.isolation import start_fork_server\n"
        "start_fork_server()\n"
    )
    out = tmp_path / "pid"
    # stdout to a file, not a pipe: reading a pipe to its end would wait for the server
    run_script(
        script + f"open({str(out)!r}, 'w').write(str(forkserver._forkserver._forkserver_pid))\n",
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    pid = int(out.read_text())

    def running() -> bool:  # a zombie has ended: init reaps it when it gets to it
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 1.0  # its imports (torch, SB3) take longer than this
    while running() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not running(), "the fork server outlived the process that started it"
