"""The worker loop: pick a study, run one trial of it, repeat; survive a database outage.

One trial at a time, under Optuna's heartbeat (``autorl.runtime.runner``). Each study served
is set up once (``StudyWorker``: the study, its sampler and warm-start prior, its task) and
kept for the next trials of it, up to ``KEPT_STUDIES`` studies. Stale trials of
dead workers are re-queued by the claim. SIGTERM or Ctrl-C re-queues the running trial and
ends the loop. When the database cannot be reached the worker waits (1, 2, 4 ... 60 s) and
tries again; no finished trial is lost, since each is stored when it ends.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

import optuna

from autorl.errors import AutoRLError
from autorl.runtime.interrupts import sigterm_interrupts
from autorl.runtime.locks import study_lock
from autorl.runtime.outage import Backoff
from autorl.runtime.runner import StudyWorker, WorkerOptions
from autorl.runtime.scheduler import next_study, waiting_on_running
from autorl.runtime.validation import stored_validation, validate_best
from autorl.stop import clear_stop, raise_if_stopped
from autorl.study.record import StudyRecord
from autorl.study.recovery import recover_stale_trials
from autorl.study.stats import study_counts
from autorl.study.storage import is_unreachable, open_storage
from autorl.training.device import resolve_device, set_threads

log = logging.getLogger(__name__)

KEPT_STUDIES = 8  # studies whose set-up a worker keeps between their trials


@dataclass(frozen=True)
class WorkerSettings:
    storage_url: str
    device: str | None = None  # None: each study's own setting
    threads: int | None = None  # torch threads (None: all cores)
    exit_when_idle: bool = False  # stop when no study has work (else poll)
    poll_s: float = 5.0
    max_trials: int | None = None  # stop after this many trials


def _validate_if_done(worker: StudyWorker) -> None:
    """The worker that finishes a study's budget validates its best configuration."""
    storage, name = worker.storage, worker.options.study_name
    study_id = storage.get_study_id_from_name(name)
    counts = study_counts(storage, [study_id])[study_id]
    budget = StudyRecord.of(storage.get_study_user_attrs(study_id)).budget
    if counts.finished < budget or counts.running:
        return
    with study_lock(worker.options.storage_url, name):
        if stored_validation(worker.study) is None:
            validate_best(worker.study, worker.config, worker.ctx.device)


class _Kept:
    """The StudyWorkers of the studies served lately, least recently used dropped first."""

    def __init__(self, settings: WorkerSettings) -> None:
        self._settings = settings
        self._workers: OrderedDict[str, StudyWorker] = OrderedDict()

    def get(self, name: str) -> StudyWorker:
        worker = self._workers.pop(name, None)
        if worker is None or not worker.is_current():
            options = WorkerOptions(self._settings.storage_url, name, self._settings.device)
            worker = StudyWorker(options)
        self._workers[name] = worker
        while len(self._workers) > KEPT_STUDIES:
            self._workers.popitem(last=False)
        return worker

    def drop(self, name: str | None = None) -> None:
        if name is None:
            self._workers.clear()
        else:
            self._workers.pop(name, None)


def _sleep_unless_stopped(seconds: float) -> None:
    """Sleep, waking every 0.5 s to honour a stop request whose exception was lost."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        raise_if_stopped()
        time.sleep(min(0.5, left))
    raise_if_stopped()


def _recovered_stale(storage: optuna.storages.BaseStorage, url: str) -> int:
    """Recover the dead workers' trials of studies no claim comes to (their budget is all
    finished or running); how many were re-queued."""
    recovered = 0
    for name in waiting_on_running(storage):
        with study_lock(url, name):
            recovered += recover_stale_trials(optuna.load_study(study_name=name, storage=storage))
    return recovered


def serve(settings: WorkerSettings) -> int:
    """Run trials until told to stop (or idle, or ``max_trials``). Returns trials run."""
    if settings.device is not None:
        resolve_device(settings.device, "MlpPolicy")  # a bad --device fails before any claim
    if settings.threads:
        set_threads(settings.threads)
    clear_stop()
    ran, backoff = 0, Backoff()
    broken: set[str] = set()  # studies that cannot run here (a missing env, ...)
    kept = _Kept(settings)
    storage = None
    with sigterm_interrupts():
        while settings.max_trials is None or ran < settings.max_trials:
            raise_if_stopped()  # a SIGTERM swallowed in a finaliser still ends the loop
            try:
                storage = storage or open_storage(settings.storage_url)
                name = next_study(storage, skip=broken)
                if name is None and _recovered_stale(storage, settings.storage_url):
                    continue  # a dead worker's last trials are back in their queue
                if name is None:
                    if settings.exit_when_idle:
                        break
                    _sleep_unless_stopped(settings.poll_s)
                    continue
                try:
                    worker = kept.get(name)
                    if worker.run_one() is not None:
                        ran += 1
                        worker.check_health()
                    _validate_if_done(worker)
                except AutoRLError as exc:
                    if is_unreachable(exc):
                        raise  # an outage, not a problem of the study
                    log.error("study %s skipped by this worker: %s", name, exc)
                    broken.add(name)
                    kept.drop(name)
                backoff.reset()
            except Exception as exc:
                if not is_unreachable(exc):
                    raise
                delay = backoff.next()
                log.warning(
                    "database unreachable (%s); retrying in %.0f s", exc.__class__.__name__, delay
                )
                storage = None
                kept.drop()
                _sleep_unless_stopped(delay)
    return ran
