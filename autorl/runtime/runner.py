"""The worker loop: claim a trial slot under the study lock, run it, record the outcome.

Used in-process by ``autorl tune`` (``--jobs 1``), by each of its worker processes
(``--jobs N``) and by ``autorl worker``.
"""

from __future__ import annotations

import logging
import statistics
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from autorl import db, settings
from autorl.envs.gym_tasks import probe_task
from autorl.errors import StudyError, TaskError, TrialFailure
from autorl.knowledge.warmstart import prior_sampler
from autorl.runtime.heartbeat import heartbeat
from autorl.runtime.interrupts import deferred_signals
from autorl.runtime.isolation import IsolatedTrain, start_fork_server
from autorl.runtime.locks import study_lock
from autorl.runtime.objective import CostFn, TrainFn, TrialContext, run_trial
from autorl.runtime.outage import retry_on_outage
from autorl.settings import HeartbeatSettings
from autorl.spaces import SearchSpace
from autorl.stop import raise_if_stopped
from autorl.study import attrs
from autorl.study.accounting import (
    configuration_key,
    counts_against_budget,
    failure_reason,
)
from autorl.study.config import StudyConfig
from autorl.study.enqueue import rerace_if_needed, shrink_if_due
from autorl.study.factory import load_study, stored_budget, stored_config
from autorl.study.record import State, write_operator_state
from autorl.study.recovery import abandon, recover_stale_trials, requeue, worker_identity
from autorl.study.stats import study_counts
from autorl.study.storage import is_unreachable, open_storage
from autorl.study.writes import one_transaction, trials_read_once
from autorl.training import measure_cost, run_seed
from autorl.training.device import resolve_device
from autorl.types import FailureReason, TaskSpec, disallowed_import

log = logging.getLogger(__name__)

MIN_RELATIVE_TIMEOUT_S = 30.0
MAX_CONSECUTIVE_BUGS = 3
CRASHES_TO_PAUSE = 5  # distinct configurations in a row whose process died (retries: once)
_CRASH_OUTCOMES = (FailureReason.CRASHED.value, FailureReason.REQUEUED.value)
ENV_ERROR_ABORT_AFTER = 3


@dataclass(frozen=True)
class WorkerOptions:
    storage_url: str
    study_name: str
    device: str | None = None  # None: the study's setting
    max_trials: int | None = None  # stop after this many trials run by this worker
    worker_index: int = 0  # distinct per process of one run: seeds its sampler differently
    # each seed run in a child process (``autorl.runtime.isolation``); None: the real trainer
    # is (unless AUTORL_TRIAL_ISOLATION=0), a train function passed in (a unit test's fake)
    # runs in this process
    isolate: bool | None = None


@dataclass(frozen=True)
class Claim:
    """A trial this worker now runs, and the study's trials as the claim read them (before
    the new one: what ``execute`` needs of them, read once)."""

    trial: optuna.Trial
    seen: Sequence[FrozenTrial]


def claim(study: optuna.Study, storage_url: str, config: StudyConfig | None = None) -> Claim | None:
    """A new RUNNING trial if the budget has room and the study's ``max_concurrent_trials``
    are not all running, else None. Exact across processes. The last trial of a racing
    study that has no incumbent yet re-races its best one-seed configuration
    (``autorl.study.enqueue.rerace_if_needed``); a size study's last trials shrink its best
    configuration's network (``shrink_if_due``)."""
    with study_lock(storage_url, study.study_name):
        trials = study.get_trials(deepcopy=False)
        if recover_stale_trials(study, trials):
            trials = study.get_trials(deepcopy=False)
        running = sum(1 for t in trials if t.state == TrialState.RUNNING)
        used = running + sum(1 for t in trials if counts_against_budget(t))
        budget = stored_budget(study)
        if used >= budget:
            return None
        limit = config.max_concurrent_trials if config is not None else None
        if limit is not None and running >= limit:
            log.info("study %s: %d trials running, its limit", study.study_name, limit)
            return None
        queued = False
        if used == budget - 1 and config is not None and config.race is not None:
            queued = rerace_if_needed(study, trials)
        if config is not None and config.cost_objective is not None and not queued:
            queued = shrink_if_due(study, trials, config, used, budget)
        # Optuna's ask looks for a queued trial: the read above tells (unless one was queued)
        with warnings.catch_warnings(), trials_read_once(study, None if queued else trials):
            # Optuna warns that heartbeats are meant for Study.optimize; this loop beats itself.
            warnings.simplefilter("ignore", UserWarning)
            trial = study.ask()
        trial.storage = study._storage  # the trial took the block's storage: the real one
        with one_transaction(trial):
            trial.set_user_attr(attrs.WORKER, worker_identity())
            if attrs.SOURCE not in trial.user_attrs:
                # the trial as Optuna read it when it was asked (else one more read)
                frozen = getattr(trial, "_cached_frozen_trial", None) or study._storage.get_trial(
                    trial._trial_id
                )
                queued = frozen.system_attrs.get("fixed_params") is not None
                trial.set_user_attr(attrs.SOURCE, "enqueued" if queued else "sampler")
        return Claim(trial, trials)


def trial_time_limit(completed: Sequence[FrozenTrial], ctx: TrialContext) -> float | None:
    """The limit of one seed run: the absolute one, or ``timeout_factor`` x the median seed
    run of the ``completed`` trials (from 3 on)."""
    limit = ctx.config.trial_timeout_s
    walls = [wall for t in completed if (wall := _seed_run_wall(t)) is not None]
    if len(walls) >= 3:
        relative = max(MIN_RELATIVE_TIMEOUT_S, ctx.config.timeout_factor * statistics.median(walls))
        limit = relative if limit is None else min(limit, relative)
    return limit


def _seed_run_wall(trial: optuna.trial.FrozenTrial) -> float | None:
    runs = [s for s in trial.user_attrs.get(attrs.SEEDS) or [] if "from_trial" not in s]
    if runs:
        return statistics.fmean(float(s["wall_s"]) for s in runs)
    return float(trial.user_attrs[attrs.WALL_S]) if attrs.WALL_S in trial.user_attrs else None


def execute(study: optuna.Study, claimed: Claim, ctx: TrialContext) -> str:
    """Run one claimed trial and tell Optuna the outcome. Returns the outcome's name."""
    started, trial = time.monotonic(), claimed.trial
    completed = [t for t in claimed.seen if t.state == TrialState.COMPLETE]
    limit = trial_time_limit(completed, ctx)
    try:
        value = run_trial(trial, ctx, limit, claimed.seen)
    except optuna.TrialPruned as exc:
        _finish(study, trial, started, TrialState.PRUNED, FailureReason.PRUNED, str(exc))
        return "pruned"
    except TrialFailure as exc:
        reason, message = exc.reason, exc.message
        if reason is FailureReason.CRASHED and _requeue_crashed(study, trial):
            reason, message = FailureReason.REQUEUED, f"{message}; queued again"
        _finish(study, trial, started, TrialState.FAIL, reason, message)
        log.warning("trial %d failed (%s): %s", trial.number, reason.value, message)
        return reason.value
    except Exception as exc:  # a bug, or something we do not classify: keep the study going
        if is_unreachable(exc):
            raise  # an outage outside the retried writes: the worker waits it out
        reason = FailureReason.OOM if isinstance(exc, MemoryError) else FailureReason.ERROR
        message = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"
        _finish(study, trial, started, TrialState.FAIL, reason, message)
        log.error("trial %d failed with an unexpected error: %s", trial.number, exc)
        return reason.value
    wall = round(time.monotonic() - started, 3)

    def store() -> None:
        trial.set_user_attr(attrs.WALL_S, wall)
        study.tell(trial, value)

    retry_on_outage(f"trial {trial.number}: score", store)
    return "complete"


def _requeue_crashed(study: optuna.Study, trial: optuna.Trial) -> bool:
    """Queue a crashed trial's configuration again unless its retries are spent; whether it
    was (queued before the crashed try is finished: a worker lost in between re-runs it at
    worst once more, never loses it)."""
    frozen = study._storage.get_trial(trial._trial_id)
    return retry_on_outage(f"trial {trial.number}: re-queue", lambda: requeue(study, frozen))


def _finish(
    study: optuna.Study,
    trial: optuna.Trial,
    started: float,
    state: TrialState,
    reason: FailureReason,
    message: str,
) -> None:
    """Store why the trial has no score and end it (retried through a database outage)."""
    wall = round(time.monotonic() - started, 3)

    def store() -> None:
        trial.set_user_attr(attrs.WALL_S, wall)
        trial.set_user_attr(attrs.FAILURE_REASON, reason.value)
        trial.set_user_attr(attrs.FAILURE_MESSAGE, message[:4000])
        study.tell(trial, state=state)

    retry_on_outage(f"trial {trial.number}: {reason.value}", store)


def _env_always_fails(study: optuna.Study, storage: optuna.storages.RDBStorage) -> str | None:
    """The message of the env errors if every one of the first finished trials hit one."""
    study_id = storage.get_study_id_from_name(study.study_name)
    counts = study_counts(storage, [study_id])[study_id]
    if counts.by_state.get(TrialState.COMPLETE.name) or counts.finished < ENV_ERROR_ABORT_AFTER:
        return None  # decided without loading the trials (this runs after every trial)
    finished = [t for t in study.get_trials(deepcopy=False) if counts_against_budget(t)]
    if len(finished) < ENV_ERROR_ABORT_AFTER:
        return None
    first = sorted(finished, key=lambda t: t.number)[:ENV_ERROR_ABORT_AFTER]
    if all(failure_reason(t) == FailureReason.ENV_ERROR.value for t in first) and not any(
        t.state == TrialState.COMPLETE for t in finished
    ):
        return first[-1].user_attrs.get(attrs.FAILURE_MESSAGE, "")
    return None


def study_device(config: StudyConfig, device: str | None) -> str:
    """The device trials of this study train on: ``device``, else the study's setting."""
    return resolve_device(device or config.device, SearchSpace.from_dict(config.space).policy)


def check_worker_imports(study_name: str, task: TaskSpec) -> None:
    """Refuse (TaskError) a stored study whose env this worker may not import
    (``AUTORL_WORKER_ENTRY_POINTS``), before anything of it is imported."""
    allowed = settings.current().worker_imports
    if allowed is None:
        return
    if (target := disallowed_import(task, allowed)) is not None:
        raise TaskError(
            f"study {study_name!r} builds its env from {target!r}, which "
            f"AUTORL_WORKER_ENTRY_POINTS ({', '.join(allowed) or 'none'}) does not allow; "
            "this worker leaves it alone. Add the module's prefix to the variable if you "
            "trust it."
        )


def make_context(
    study: optuna.Study,
    device: str | None,
    train: TrainFn | None = None,
    storage_url: str | None = None,
    measure: CostFn | None = None,
) -> TrialContext:
    """What the study's trials share; ``storage_url`` lets it read the task's probed
    features (the random policy's return, racing's floor)."""
    config = stored_config(study)
    check_worker_imports(study.study_name, config.task)
    record = db.get_task(storage_url, config.task.key()) if storage_url else None
    features = record.features if record is not None else None
    # the action space as probed at submission (in a child); an env is built here only for a
    # task stored without its features
    kind = features.action.kind if features else probe_task(config.task)["action_space"]["kind"]
    return TrialContext(
        config=config,
        space=SearchSpace.from_dict(config.space),
        action_space_kind=kind,
        device=study_device(config, device),
        random_return=features.random_return_mean if features is not None else None,
        **({"train": train} if train is not None else {}),
        **({"measure": measure} if measure is not None else {}),
    )


class StudyWorker:
    """One study as this process serves it: the study, its sampler (with the warm-start
    prior, which reads the history once) and its task context are built once, then reused for
    every trial this process runs of it (``autorl worker`` keeps one per study it serves)."""

    def __init__(
        self, options: WorkerOptions, train: TrainFn | None = None, measure: CostFn | None = None
    ) -> None:
        self.options = options
        self.beat = HeartbeatSettings.from_env()
        self.storage = open_storage(options.storage_url, self.beat)
        self.study, self.config = load_study(options.study_name, self.storage, options.worker_index)
        prior = prior_sampler(self.study, self.config, options.storage_url, options.worker_index)
        if prior is not None:
            self.study.sampler = prior
        isolate = options.isolate
        if isolate is None:
            isolate = train is None and settings.current().trial_isolation
        train = train or run_seed
        measure = measure or measure_cost
        if isolate:
            start_fork_server()  # its imports overlap with the set-up below
            train = IsolatedTrain(train, self.config.memory_limit_mb)
            measure = IsolatedTrain(measure, self.config.memory_limit_mb)
        self.ctx = make_context(self.study, options.device, train, options.storage_url, measure)
        self._bugs = 0
        self._crashed: set[str] = set()  # configurations crashed in a row (params as JSON)
        self._last = -1

    def is_current(self) -> bool:
        """Whether the stored study is still the one this was built for (not deleted, or
        deleted and created again under its name)."""
        try:
            study_id = self.storage.get_study_id_from_name(self.options.study_name)
        except KeyError:
            return False
        return study_id == self.study._study_id

    def run_one(self) -> str | None:
        """Claim and run one trial; its outcome, or None when the budget has no room."""
        raise_if_stopped()
        trial = None
        try:
            with deferred_signals():  # a stop mid-claim is handled once the trial is ours
                claimed = claim(self.study, self.options.storage_url, self.config)
                trial = claimed.trial if claimed is not None else None
            if claimed is None:
                return None
            with heartbeat(self.storage, trial._trial_id, self.beat.interval_s):
                outcome = execute(self.study, claimed, self.ctx)
        except (KeyboardInterrupt, SystemExit):
            # Stopped by the user: the configuration goes back to the queue, nothing counts.
            if trial is not None:
                abandon(self.study, trial._trial_id, retry=False)
            raise
        self._bugs = self._bugs + 1 if outcome == FailureReason.ERROR.value else 0
        if outcome in _CRASH_OUTCOMES:  # a retry, or TPE proposing it again, counts once
            self._crashed.add(configuration_key(trial.params))
        else:
            self._crashed.clear()
        self._last = trial.number
        return outcome

    def check_health(self) -> None:
        """StudyError when the study should stop: bugs in a row, trials whose process dies
        in a row (the study is paused: a worker pool must not loop on it), or an env that
        fails in each of the first trials."""
        if len(self._crashed) >= CRASHES_TO_PAUSE:
            last = self.study.trials[self._last].user_attrs.get(attrs.FAILURE_MESSAGE)
            message = (
                f"the process of each of the last {len(self._crashed)} configurations died "
                f"(each on all its tries; last: {last}); the "
                "study is paused. Fix the environment or lower --memory-limit's pressure, then "
                f"`autorl resume {self.study.study_name}`"
            )
            write_operator_state(self.study, State.PAUSED, reason=message)
            raise StudyError(message)
        if self._bugs >= MAX_CONSECUTIVE_BUGS:
            last = self.study.trials[self._last].user_attrs.get(attrs.FAILURE_MESSAGE)
            raise StudyError(
                f"{self._bugs} trials in a row failed with unexpected errors; last: {last}"
            )
        env_message = _env_always_fails(self.study, self.storage)
        if env_message is not None:
            raise StudyError(
                f"the environment failed in each of the first {ENV_ERROR_ABORT_AFTER} trials; "
                f"stopping instead of spending the budget. Last error: {env_message}"
            )


def run_worker(
    options: WorkerOptions,
    on_trial_end: Callable[[optuna.Study], None] | None = None,
    train: TrainFn | None = None,
    measure: CostFn | None = None,
) -> int:
    """Run trials of one study until its budget is reached. Returns how many this worker ran.
    ``train`` and ``measure``: a trainer and a cost measure to use instead of the real ones."""
    worker = StudyWorker(options, train, measure)
    ran = 0
    while options.max_trials is None or ran < options.max_trials:
        if worker.run_one() is None:
            break
        ran += 1
        if on_trial_end is not None:
            on_trial_end(worker.study)
        worker.check_health()
    return ran
