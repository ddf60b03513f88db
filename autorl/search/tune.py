"""Tune a task: create or continue a study, run its workers, validate the best configuration."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import optuna
from optuna.trial import TrialState

from autorl.meta import Proposal
from autorl.search.accounting import best_trial, finished_count
from autorl.search.factory import create_or_continue, load_study, set_budget, stored_budget
from autorl.search.recovery import recover_stale_trials
from autorl.search.runner import WorkerOptions, make_context, run_worker
from autorl.search.storage import open_storage
from autorl.search.study_config import StudyConfig
from autorl.search.tasks import register_study
from autorl.search.validation import validate_best
from autorl.search.warmstart import WarmStartSettings, warm_start
from autorl.spaces import SearchSpace
from autorl.training.device import set_threads
from autorl.training.gym_tasks import check_compatible
from autorl.training.smoke import smoke_test
from autorl.types import TaskRecord, TaskSpec

log = logging.getLogger(__name__)

POLL_S = 1.0
STOP_GRACE_S = 10  # seconds a stopped worker has to re-queue its trial and exit


@dataclass(frozen=True)
class Progress:
    """A snapshot for progress displays."""

    done: int
    budget: int
    running: int
    best: float | None
    elapsed_s: float


ProgressFn = Callable[[Progress], None]


def snapshot(study: optuna.Study, started: float) -> Progress:
    trials = study.get_trials(deepcopy=False)
    best = best_trial(trials)
    return Progress(
        done=finished_count(trials),
        budget=stored_budget(study),
        running=sum(1 for t in trials if t.state == TrialState.RUNNING),
        best=None if best is None else best.value,
        elapsed_s=time.monotonic() - started,
    )


def preflight(config: StudyConfig) -> None:
    """Refuse a task the algorithm cannot act in, or an env that cannot be built, up front."""
    SearchSpace.from_dict(config.space)
    check_compatible(config.algo, config.task)
    smoke_test(config.task)


@dataclass(frozen=True)
class Started:
    """A study ready to run: created or continued, its task registered, maybe warm-started."""

    study: optuna.Study
    config: StudyConfig
    created: bool
    task: TaskRecord
    warm_start: list[Proposal]


def check_tasks(algo: str, tasks: list[TaskSpec]) -> None:
    """Refuse a family before any of it runs if one of its tasks cannot be built or acted in."""
    for task in tasks:
        check_compatible(algo, task)


def start_study(
    name: str,
    storage_url: str,
    config: StudyConfig,
    budget: int,
    warm: WarmStartSettings | None = None,
) -> Started:
    """Create the study (or continue it with a new budget) after checking the task.

    The task is registered (its features probed once) and linked to the study; a new study
    is warm-started from similar stored tasks unless ``warm.mode`` is ``none``.
    """
    warm = warm or WarmStartSettings()
    warm.check()
    preflight(config)
    storage = open_storage(storage_url)
    study, config, created = create_or_continue(name, storage, config, budget)
    record = register_study(storage_url, name, config)
    proposals = warm_start(study, config, storage_url, record, warm) if created else []
    return Started(study, config, created, record, proposals)


def resume_study(
    name: str, storage_url: str, budget: int | None
) -> tuple[optuna.Study, StudyConfig]:
    storage = open_storage(storage_url)
    study, config = load_study(name, storage)
    if budget is not None:
        set_budget(study, budget)
    preflight(config)
    register_study(storage_url, name, config)
    return study, config


def _stop_worker(signum: int, frame: object) -> None:
    """SIGTERM in a worker: unwind (re-queueing the running trial); hard exit if stuck.

    The SystemExit can be swallowed when the signal lands in a finaliser ("Exception
    ignored in ..."), so an alarm makes sure the process goes; the parent then recovers
    whatever trial it left running.
    """
    signal.signal(signal.SIGALRM, lambda *_: os._exit(143))
    signal.alarm(STOP_GRACE_S)
    raise SystemExit(143)


def _worker_process(
    storage_url: str, study_name: str, device: str | None, threads: int, index: int
) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _stop_worker)
    set_threads(threads)
    try:
        run_worker(WorkerOptions(storage_url, study_name, device, worker_index=index))
    except KeyboardInterrupt:
        sys.exit(130)


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _stop_workers(procs: list) -> None:
    """SIGTERM each live worker; SIGKILL those still alive after the grace period."""
    for p in procs:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + 2 * STOP_GRACE_S
    for p in procs:
        p.join(timeout=max(0.1, deadline - time.monotonic()))
    for p in procs:
        if p.is_alive():
            log.warning("worker %s did not stop in %d s: killed", p.pid, 2 * STOP_GRACE_S)
            p.kill()
            p.join(timeout=10)


def check_jobs(jobs: int) -> int:
    """Refuse a worker count this machine cannot run; returns the core count."""
    cores = os.cpu_count() or 1
    if jobs < 1 or jobs > 4 * cores:
        raise ValueError(f"--jobs {jobs} must be between 1 and {4 * cores} on this machine")
    return cores


def run_study(
    study: optuna.Study,
    storage_url: str,
    jobs: int = 1,
    device: str | None = None,
    on_progress: ProgressFn | None = None,
) -> None:
    """Run trials until the budget is reached: in this process, or in ``jobs`` processes."""
    started = time.monotonic()
    cores = check_jobs(jobs)
    if on_progress:
        on_progress(snapshot(study, started))
    if jobs == 1:
        set_threads(cores)
        make_context(study, device)  # fail fast on device errors before the first claim
        # SIGTERM stops this run like Ctrl-C: the running trial is re-queued.
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            run_worker(
                WorkerOptions(storage_url, study.study_name, device),
                on_trial_end=(lambda s: on_progress(snapshot(s, started))) if on_progress else None,
            )
        finally:
            signal.signal(signal.SIGTERM, previous)
        return
    threads = max(1, cores // jobs)
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(
            target=_worker_process,
            args=(storage_url, study.study_name, device, threads, i),
            name=f"autorl-worker-{i}",
        )
        for i in range(jobs)
    ]
    for p in procs:
        p.start()
    # SIGTERM to this process stops its workers too (each re-queues its running trial).
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        while any(p.is_alive() for p in procs):
            time.sleep(POLL_S)
            if on_progress:
                on_progress(snapshot(study, started))
    except KeyboardInterrupt:
        _stop_workers(procs)
        recover_stale_trials(study)  # what a worker that had to be killed left running
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    failed = [p for p in procs if p.exitcode not in (0, None)]
    if on_progress:
        on_progress(snapshot(study, started))
    if failed:
        log.error("%d of %d worker processes exited with an error", len(failed), jobs)


def finish_study(study: optuna.Study, config: StudyConfig, device: str | None) -> dict | None:
    """Validate the best configuration on held-out seeds once the budget is reached."""
    trials = study.get_trials(deepcopy=False)
    if finished_count(trials) < stored_budget(study):
        return None
    ctx = make_context(study, device)
    return validate_best(study, config, ctx.device)
