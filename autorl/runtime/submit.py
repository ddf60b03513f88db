"""Submit work without running it: check a task, create or continue its study, warm-start it.

Imports no torch and no Stable-Baselines3 (the API process submits through this module);
running the trials is ``autorl.runtime.tune`` / ``autorl worker``.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import optuna

from autorl.envs.features import probe_features
from autorl.envs.gym_tasks import check_compatible, make_env, probe_task
from autorl.envs.smoke import smoke_test
from autorl.errors import StudyError, TaskError, UsageError
from autorl.knowledge.warmstart import WarmStartSettings, warm_start
from autorl.meta import Proposal
from autorl.runtime.isolation import ProcessDied, call_apart
from autorl.runtime.tasks import needs_features, register, register_study
from autorl.spaces import SearchSpace
from autorl.study.config import StudyConfig
from autorl.study.factory import create_or_continue, load_study, set_budget, stored_budget
from autorl.study.record import State, clear_operator_state
from autorl.study.record import read as read_record
from autorl.study.storage import open_storage
from autorl.types import TaskFeatures, TaskRecord, TaskSpec

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 600.0  # building, smoke-testing and probing a new env, at most


def _check_task(config: StudyConfig, probe: bool) -> TaskFeatures | None:
    """In the checking process: build the env, check the algorithm can act in it, smoke-test
    it; then, if ``probe``, measure its features (random-policy episodes)."""
    env = make_env(config.task)  # one env for both checks
    try:
        check_compatible(config.algo, config.task, env)
        smoke_test(config.task, env)
    finally:
        env.close()
    return probe_features(config.task) if probe else None


def preflight(config: StudyConfig, storage_url: str | None = None) -> TaskFeatures | None:
    """Refuse a task the algorithm cannot act in, or an env that cannot be built, up front;
    with ``storage_url``, also probe the task's features if it has none stored yet (returned).

    The env runs in a child process (``call_apart``): an env that crashes its process (a
    segfault in a C extension, an abort) is refused with what ended it, and the process
    submitting (the CLI, the API server) goes on.
    """
    SearchSpace.from_dict(config.space)
    probe = storage_url is not None and needs_features(storage_url, config.task)
    try:
        return call_apart(_check_task, config, probe, timeout_s=CHECK_TIMEOUT_S)
    except ProcessDied as exc:
        raise TaskError(
            f"environment {config.task.env_id!r} ended the process that checked it "
            f"({'reset, random steps and a probe' if probe else 'reset and random steps'}): "
            f"{exc}. Fix the environment (run it alone: gymnasium.make, reset, step) before "
            "tuning it; nothing was stored."
        ) from None


def _observation(task: TaskSpec) -> dict[str, Any]:
    return probe_task(task)["observation_space"]


def observation_space(task: TaskSpec) -> dict[str, Any]:
    """The task's observation space as autorl presents it (``probe_task``: an image as uint8
    (C, H, W)), the env built in a child process as ``preflight`` does."""
    try:
        return call_apart(_observation, task, timeout_s=CHECK_TIMEOUT_S)
    except ProcessDied as exc:
        raise TaskError(
            f"environment {task.env_id!r} ended the process that built it: {exc}. Fix the "
            "environment (run it alone: gymnasium.make) before tuning it; nothing was stored."
        ) from None


@dataclass(frozen=True)
class Started:
    """A study ready to run: created or continued, its task registered, maybe warm-started."""

    study: optuna.Study
    config: StudyConfig
    created: bool
    task: TaskRecord
    warm_start: list[Proposal]


def refuse_cancelled(study: optuna.Study) -> None:
    """A cancelled study stays cancelled: its results are kept, but it runs no more trials."""
    if read_record(study).operator == State.CANCELLED:
        raise StudyError(
            f"study {study.study_name!r} was cancelled; its results are kept, but it runs no "
            "more trials. Start a new study (--study NAME) to tune this task again."
        )


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
    keep_stored: tuple[str, ...] = (),
) -> Started:
    """Create the study (or continue it with a new budget) after checking the task.

    The task is registered (its features probed once) and linked to the study; a new study
    is warm-started from similar stored tasks unless ``warm.mode`` is ``none``. A continued
    study keeps its stored values of the ``keep_stored`` fields (options the user left out).
    """
    warm = warm or WarmStartSettings()
    warm.check()
    features = preflight(config, storage_url)
    register(storage_url, config.task, features)  # a task that cannot be registered stores no study
    storage = open_storage(storage_url)
    with contextlib.suppress(KeyError):  # KeyError: a new study
        refuse_cancelled(optuna.load_study(study_name=name, storage=storage))
    study, config, created = create_or_continue(name, storage, config, budget, keep_stored)
    record = register_study(storage_url, name, config)
    proposals = warm_start(study, config, storage_url, record, warm) if created else []
    return Started(study, config, created, record, proposals)


def resume_study(
    name: str, storage_url: str, budget: int | None
) -> tuple[optuna.Study, StudyConfig]:
    """The stored study, ``budget`` its new budget if given (UsageError below the stored
    one: a budget only grows), checked and registered as ``start_study`` does."""
    storage = open_storage(storage_url)
    study, config = load_study(name, storage)
    refuse_cancelled(study)
    if budget is not None:
        stored = stored_budget(study)
        if budget < stored:
            raise UsageError(
                f"study {name!r} has a budget of {stored} trials; a budget can only grow "
                f"(asked {budget}). Stop a study with Ctrl-C, or cancel it."
            )
        set_budget(study, budget)
    register_study(storage_url, name, config, preflight(config, storage_url))
    record = read_record(study)
    if record.operator == State.PAUSED:  # resuming is the operator's word to go on
        clear_operator_state(study)
        why = f" ({record.operator_reason})" if record.operator_reason else ""
        log.warning("study %s was paused%s; resumed", name, why)
    return study, config
