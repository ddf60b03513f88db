"""Tune a task: create or continue a study, run its workers, validate the best configuration."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import optuna
from optuna.trial import TrialState

from autorl.errors import UsageError
from autorl.runtime.interrupts import sigterm_interrupts
from autorl.runtime.runner import WorkerOptions, run_worker, study_device
from autorl.runtime.validation import validate_best
from autorl.spaces.space import SearchSpace
from autorl.stop import clear_stop, request_stop
from autorl.study.accounting import best_trial, finished_count
from autorl.study.config import StudyConfig
from autorl.study.factory import stored_budget, stored_config
from autorl.study.recovery import recover_stale_trials
from autorl.training.device import set_threads, training_threads

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


def _stop_worker(signum: int, frame: object) -> None:
    """SIGTERM in a worker: unwind (re-queueing the running trial); hard exit if stuck.

    The SystemExit can be swallowed when the signal lands in a finaliser ("Exception
    ignored in ..."), so an alarm makes sure the process goes; the parent then recovers
    whatever trial it left running.
    """
    request_stop()
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
        raise UsageError(f"--jobs {jobs} must be between 1 and {4 * cores} on this machine")
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
    clear_stop()  # a new run: an earlier stop in this process is done with
    if on_progress:
        on_progress(snapshot(study, started))
    if jobs == 1:
        set_threads(_threads(study, device, cores))
        with sigterm_interrupts():  # SIGTERM stops this run like Ctrl-C
            run_worker(
                WorkerOptions(storage_url, study.study_name, device),
                on_trial_end=(lambda s: on_progress(snapshot(s, started))) if on_progress else None,
            )
        return
    threads = _threads(study, device, cores // jobs)
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
    with sigterm_interrupts():
        try:
            while any(p.is_alive() for p in procs):
                time.sleep(POLL_S)
                if on_progress:
                    on_progress(snapshot(study, started))
        except KeyboardInterrupt:
            _stop_workers(procs)
            recover_stale_trials(study)  # what a worker that had to be killed left running
            raise
    failed = [p for p in procs if p.exitcode not in (0, None)]
    if on_progress:
        on_progress(snapshot(study, started))
    if failed:
        log.error("%d of %d worker processes exited with an error", len(failed), jobs)


def _threads(study: optuna.Study, device: str | None, share: int) -> int:
    """Torch threads of each worker (``training_threads``); a bad device is left for the
    worker's set-up to refuse, before any claim."""
    config = stored_config(study)
    try:
        resolved = study_device(config, device)
    except UsageError:
        return max(1, share)
    return training_threads(SearchSpace.from_dict(config.space).policy, resolved, share)


def _parallel(jobs: int, threads: int):
    """``map`` over ``jobs`` threads: each run trains in its own child process (isolated as
    trials are), so threads are enough, with each child's torch given ``threads``."""

    def run_all(fn, items):
        set_threads(threads)  # the children take the parent's
        with ThreadPoolExecutor(jobs, thread_name_prefix="autorl-final") as pool:
            try:
                return list(pool.map(fn, items))
            except BaseException:
                request_stop()  # the other threads' children end at their next poll
                raise

    return run_all


def finish_study(
    study: optuna.Study, config: StudyConfig, device: str | None, jobs: int = 1
) -> dict | None:
    """Once the budget is reached, make the final choice (if asked) and test the published
    configuration on held-out seeds; with ``jobs`` > 1 their runs go to that many processes."""
    trials = study.get_trials(deepcopy=False)
    if finished_count(trials) < stored_budget(study):
        return None
    device = study_device(config, device)
    threads = _threads(study, device, (os.cpu_count() or 1) // jobs)
    if jobs == 1:
        set_threads(threads)  # each run's child takes this process's setting
    return validate_best(study, config, device, _parallel(jobs, threads) if jobs > 1 else map)
