"""Trials left RUNNING by a worker that died: mark them failed and re-queue their configuration.

Two detectors: a worker on this machine whose process is gone (immediate), and Optuna's
heartbeat (any machine, after the grace period). A failed trial without a ``failure_reason``
is the mark of a dead worker: it does not count against the budget.
"""

from __future__ import annotations

import logging
import os
import socket
import warnings

import optuna
from optuna.trial import FrozenTrial, TrialState

from autorl.search import attrs

log = logging.getLogger(__name__)

WORKER_ATTR = attrs.WORKER


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _is_dead_local_worker(identity: str | None) -> bool:
    if not identity or ":" not in identity:
        return False
    host, _, pid_text = identity.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def requeue(study: optuna.Study, trial: FrozenTrial) -> None:
    """Queue the failed trial's configuration again (heartbeat stale-trial callback too)."""
    queued_attrs = {
        attrs.REQUEUED_FROM: trial.number,
        attrs.SOURCE: "requeued",
    }
    study.enqueue_trial(trial.params, user_attrs=queued_attrs)
    log.warning(
        "trial %d was left running by a dead worker (%s): failed and re-queued",
        trial.number,
        trial.user_attrs.get(WORKER_ATTR, "unknown worker"),
    )


def recover_stale_trials(study: optuna.Study) -> int:
    """Fail and re-queue the trials of dead workers. Returns how many were recovered."""
    storage = study._storage
    recovered = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not _is_dead_local_worker(trial.user_attrs.get(WORKER_ATTR)):
            continue
        try:
            changed = storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:
            changed = False
        if changed:
            requeue(study, trial)
            recovered += 1
    before = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)  # heartbeat path; calls requeue via storage
    after = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))}
    return recovered + len(after - before)
