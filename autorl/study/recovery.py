"""Trials left RUNNING by a worker that died: mark them failed and re-queue their configuration.

Two detectors: a worker on this machine whose process is gone (immediate), and Optuna's
heartbeat (any machine, after the grace period). A trial failed as ``killed`` (or, from the
heartbeat path, failed by Optuna without a ``failure_reason``) does not count against the budget.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import warnings
from collections.abc import Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState

from autorl.study import attrs
from autorl.study.config import DEFAULT_MAX_RETRIES
from autorl.types import FailureReason

log = logging.getLogger(__name__)

WORKER_ATTR = attrs.WORKER
_requeued = [0]  # trials ``requeue`` has queued again in this process (under _counting)
_counting = threading.Lock()


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


def max_retries(study: optuna.Study) -> int:
    """The study's ``max_retries`` (StudyConfig), read when a trial needs it."""
    config = study.user_attrs.get(attrs.STUDY_CONFIG) or {}
    return int(config.get("max_retries", DEFAULT_MAX_RETRIES))


def requeue(study: optuna.Study, trial: FrozenTrial, retry: bool = True) -> bool:
    """Queue the failed trial's configuration again (heartbeat stale-trial callback too);
    False when it has been retried the study's ``max_retries`` times already (its worker or
    process died each time): it is not queued again. ``retry``: whether this try counts (a
    stop by the user does not).

    A trial stopped before it sampled everything re-queues what it had: the parameters it
    was given from the queue, and those it sampled.
    """
    retries = int(trial.user_attrs.get(attrs.RETRIES) or 0)
    limit = max_retries(study)
    if retry and retries >= limit:
        log.error(
            "trial %d: its configuration's process or worker died on each of its %d tries "
            "(max_retries %d): not queued again",
            trial.number,
            retries + 1,
            limit,
        )
        return False
    params = {**(trial.system_attrs.get("fixed_params") or {}), **trial.params}
    queued_attrs = {
        attrs.REQUEUED_FROM: trial.number,
        attrs.SOURCE: "requeued",
        attrs.RETRIES: retries + 1 if retry else retries,
    }
    study.enqueue_trial(params, user_attrs=queued_attrs)
    with _counting:
        _requeued[0] += 1
    log.warning(
        "trial %d of worker %s did not finish: failed and re-queued%s",
        trial.number,
        trial.user_attrs.get(WORKER_ATTR, "unknown"),
        f" (retry {retries + 1} of {limit})" if retry else "",
    )
    return True


def abandon(study: optuna.Study, trial_id: int, retry: bool = True) -> bool:
    """Fail a RUNNING trial as ``killed`` (so it does not count) and re-queue it (``requeue``;
    ``retry=False``: a stop by the user, which spends none of its retries).

    The reason and its message are written while the trial is still RUNNING, before it is
    failed: a recovering process killed in between leaves either a RUNNING trial (recovered
    again later) or a failed one that says why, never a bare failure.

    Returns False if the trial had already finished.
    """
    storage = study._storage
    trial = storage.get_trial(trial_id)
    if trial.state.is_finished():
        return False
    retries = int(trial.user_attrs.get(attrs.RETRIES) or 0)
    worker = trial.user_attrs.get(WORKER_ATTR, "unknown")
    if not retry:
        message = f"stopped with its worker {worker}; queued again"
    elif retries >= max_retries(study):
        message = (
            f"its worker died on each of its {retries + 1} tries (max_retries "
            f"{max_retries(study)}, last worker {worker}): not queued again"
        )
    else:
        message = f"its worker {worker} died mid-trial; queued again"
    try:
        storage.set_trial_user_attr(trial_id, attrs.FAILURE_REASON, FailureReason.KILLED.value)
        storage.set_trial_user_attr(trial_id, attrs.FAILURE_MESSAGE, message)
        changed = storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
    except optuna.exceptions.UpdateFinishedTrialError:
        return False
    if changed:
        requeue(study, storage.get_trial(trial_id), retry)
    return changed


def recover_stale_trials(study: optuna.Study, trials: Sequence[FrozenTrial] | None = None) -> int:
    """Fail and re-queue the trials of dead workers. Returns how many were recovered (0: the
    caller's ``trials``, the study's trials as it read them, are still current)."""
    if trials is None:
        trials = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    recovered = 0
    for trial in trials:
        if trial.state != TrialState.RUNNING:
            continue
        if not _is_dead_local_worker(trial.user_attrs.get(WORKER_ATTR)):
            continue
        if abandon(study, trial._trial_id):
            recovered += 1
    with _counting:
        before = _requeued[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)  # heartbeat path; calls requeue via storage
    with _counting:
        return recovered + _requeued[0] - before
