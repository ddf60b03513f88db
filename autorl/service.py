"""autorl's use cases, one function each, with typed requests: the CLI (``autorl tune``,
``family tune``, ``meta live``) and the HTTP API build a ``TuneRequest`` and call ``submit``
(and the CLI ``run``). The rules live here once: the default study name, which search space,
how options become a ``StudyConfig``, which stored fields a continued study keeps, and that a
study's budget can only grow.

Imports no torch and no Stable-Baselines3 (the API process submits through this module);
``run`` imports them when it trains.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna

from autorl.errors import SpaceError, StudyError, UsageError
from autorl.knowledge.warmstart import WarmStartSettings
from autorl.spaces import SearchSpace, load_space
from autorl.study.config import (
    DEFAULT_FINAL_SEEDS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TEST_SEEDS,
    StudyConfig,
    check_study_name,
    parse_objectives,
    seed_fields,
    tuning_evaluation,
)
from autorl.study.record import write_priority
from autorl.types import TaskSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TuneRequest:
    """A study to create, or to continue with the same settings (None: not given, so the
    default for a new study and the stored value for a continued one)."""

    task: TaskSpec
    algo: str = "ppo"
    trials: int = 20  # the budget: finished trials in total
    timesteps: int = 50_000  # env steps per training run
    space: str | None = None  # a shipped space's name or a YAML path; default: the algo's
    space_inline: Mapping[str, Any] | None = None  # a space document instead of a file
    fixed: Mapping[str, Any] = field(default_factory=dict)  # n_envs / normalize pinned
    seeds: int | None = None  # no racing: exactly this many seeds per configuration
    max_seeds: int | None = None
    min_seeds: int | None = None
    race_z: float | None = None
    aggregate: str | None = None
    evaluations: int = 10
    eval_episodes: int = 5
    pruner: str = "median"
    finalists: int = 0  # the final choice among the top K (0: off)
    final_seeds: int = DEFAULT_FINAL_SEEDS
    validation_seeds: int = DEFAULT_TEST_SEEDS
    validation_episodes: int = 20
    trial_timeout_s: float | None = None
    timeout_factor: float = 5.0
    max_retries: int = DEFAULT_MAX_RETRIES  # re-queues of a configuration whose process died
    memory_limit_mb: int | None = None  # per trial's process
    max_concurrent_trials: int | None = None  # running at once, all workers
    device: str = "auto"
    sampler_seed: int | None = None
    threshold: float | None = None
    warm_start: WarmStartSettings = field(default_factory=WarmStartSettings)
    name: str | None = None  # default: ``default_study_name``
    enqueue: Sequence[Mapping[str, Any]] = ()  # parameter sets to try first
    priority: int = 0  # workers serve studies of higher priority first
    objectives: str = "return"  # or return,params / return,latency: a front (see study.objectives)

    def study_name(self) -> str:
        return self.name or default_study_name(self.task, self.algo)

    def search_space(self) -> SearchSpace:
        """The space searched (SpaceError if it cannot be read; UsageError if it is for
        another algorithm), with the ``fixed`` values pinned. The algorithm's default space
        searches a CNN when the task's observation is an image (``for_images``) and, with a
        cost objective, small networks too (``with_small_networks``)."""
        if self.space_inline is not None:
            space = SearchSpace.from_dict(dict(self.space_inline), source="space_inline")
        else:
            space = load_space(self.space or self.algo)
        if space.algo != self.algo:
            raise UsageError(
                f"the search space {space.name!r} is for {space.algo}, but algo is "
                f"{self.algo}: choose a {self.algo} space, or {space.algo} as the algorithm"
            )
        if self.space is None and self.space_inline is None:  # the algorithm's default space
            from autorl.runtime.submit import observation_space

            observation = observation_space(self.task)  # built apart: it may crash
            if observation.get("image"):
                space = space.for_images(*observation["shape"][1:])  # a CNN, chosen here
            if "," in self.objectives:
                space = space.with_small_networks()  # down to linear policies
        return space.with_fixed(dict(self.fixed)) if self.fixed else space

    def study_config(self, space: SearchSpace) -> tuple[StudyConfig, tuple[str, ...]]:
        """The study asked for, and the fields a continued study keeps from storage (those no
        option was given for). UsageError when the options contradict each other."""
        try:
            seeds, keep = seed_fields(
                self.seeds, self.max_seeds, self.min_seeds, self.race_z, self.aggregate
            )
            config = StudyConfig(
                task=self.task,
                algo=self.algo,
                space=space.to_dict(),
                timesteps=self.timesteps,
                **seeds,
                evaluation=tuning_evaluation(self.evaluations, self.eval_episodes),
                pruner=self.pruner,
                finalists=self.finalists,
                final_seeds=self.final_seeds,
                validation_seeds=self.validation_seeds,
                validation_episodes=self.validation_episodes,
                trial_timeout_s=self.trial_timeout_s,
                timeout_factor=self.timeout_factor,
                max_retries=self.max_retries,
                memory_limit_mb=self.memory_limit_mb,
                max_concurrent_trials=self.max_concurrent_trials,
                device=self.device,
                sampler_seed=self.sampler_seed,
                threshold=self.threshold,
                objectives=parse_objectives(self.objectives),
            )
            config.check()
        except StudyError as exc:
            raise UsageError(str(exc)) from exc
        return config, keep


def default_study_name(task: TaskSpec, algo: str) -> str:
    """``ENV-ALGO``, plus the task's key when env options make it a variant."""
    name = f"{task.env_id.replace('/', '_')}-{algo}"  # a namespace's '/' is no name's
    if task.entry_point or task.env_kwargs or task.env_attrs:
        name += f"-{task.key()}"
    return name


@dataclass(frozen=True)
class Submitted:
    """A study ready for workers: created or continued, its first trials queued."""

    study: optuna.Study
    config: StudyConfig
    created: bool
    task_key: str
    budget: int
    warm_start: list  # the proposals queued from similar tasks (autorl.meta.Proposal)
    enqueued: int  # the request's own parameter sets queued


def check(request: TuneRequest) -> tuple[SearchSpace, StudyConfig, tuple[str, ...]]:
    """Everything about ``request`` that can be refused without storage or training (the
    default space asks the task's observation: one env built)."""
    from autorl.study.enqueue import check_configurations

    request.warm_start.check()
    try:
        check_study_name(request.study_name())
    except StudyError as exc:
        raise UsageError(str(exc)) from exc
    space = request.search_space()
    config, keep = request.study_config(space)
    check_configurations(space, list(request.enqueue), where="enqueued configurations: ")
    return space, config, keep


def submit(request: TuneRequest, storage_url: str) -> Submitted:
    """Create the study (or continue it with the same settings) and queue its first trials;
    nothing is stored when any check fails. A continued study's budget becomes the larger of
    the stored one and ``request.trials``: a budget can only grow (finished results are
    never given up by asking for fewer)."""
    from autorl.runtime.submit import start_study
    from autorl.study.enqueue import enqueue
    from autorl.study.factory import stored_budget

    space, config, keep = check(request)
    name = request.study_name()
    started = start_study(name, storage_url, config, request.trials, request.warm_start, keep)
    added = enqueue(started.study, space, list(request.enqueue)) if request.enqueue else 0
    write_priority(started.study, request.priority)
    return Submitted(
        started.study,
        started.config,
        started.created,
        started.task.key,
        stored_budget(started.study),
        started.warm_start,
        added,
    )


def resume(name: str, storage_url: str, trials: int | None = None) -> Submitted:
    """A stored study, ready to run again (after a stop or a crash), with ``trials`` as its
    new budget if given; UsageError when that is below the stored one (a budget can only
    grow), StudyError when the study is cancelled or unknown."""
    from autorl.runtime.submit import resume_study
    from autorl.study.factory import stored_budget

    study, config = resume_study(name, storage_url, trials)
    return Submitted(study, config, False, config.task.key(), stored_budget(study), [], 0)


def prepare_to_run(jobs: int = 1) -> None:
    """Start, in the background, what running trials in this process needs: with ``jobs``
    1 and trials isolated, the fork server whose imports (torch, SB3: seconds) then overlap
    with the study's creation instead of delaying the first trial."""
    from autorl import settings
    from autorl.runtime.isolation import start_fork_server

    if jobs == 1 and settings.current().trial_isolation:
        start_fork_server()


def run(
    submitted: Submitted,
    storage_url: str,
    jobs: int = 1,
    device: str | None = None,
    on_progress: Callable[[Any], None] | None = None,
) -> dict[str, Any] | None:
    """Run the study's trials here (``jobs`` processes) until its budget is spent, then test
    the chosen configuration on unseen seeds; returns that test's record (None: the budget
    was not reached). ``device`` overrides the study's."""
    from autorl.runtime.tune import finish_study, run_study

    run_study(submitted.study, storage_url, jobs=jobs, device=device, on_progress=on_progress)
    return finish_study(submitted.study, submitted.config, device, jobs)


# --- population-based training -----------------------------------------------------------------


@dataclass(frozen=True)
class PbtRequest:
    """A population-based training run to create (``autorl pbt ENV``)."""

    task: TaskSpec
    settings: Any  # autorl.pbt.records.PbtSettings
    algo: str = "ppo"
    space: str | None = None  # a shipped space's name or a YAML path; default: the algo's
    name: str | None = None  # default: ENV-ALGO-pbt
    warm_start: WarmStartSettings = field(default_factory=WarmStartSettings)

    def run_name(self) -> str:
        return self.name or f"{default_study_name(self.task, self.algo)}-pbt"


def start_pbt(request: PbtRequest, storage_url: str) -> Any:
    """Check the task and the space, draw the first population, store the run (a
    ``PbtRun``); nothing is stored when a check fails."""
    from autorl.db import population as store
    from autorl.runtime.population import population_space
    from autorl.runtime.population_run import check_task
    from autorl.runtime.submit import observation_space
    from autorl.study.enqueue import sample_configurations

    check_study_name(request.run_name())
    space = load_space(request.space or request.algo)
    if space.algo != request.algo:
        raise UsageError(f"the search space {space.name!r} is for {space.algo}, not {request.algo}")
    kind = check_task(request.algo, request.task)
    if request.space is None:
        observation = observation_space(request.task)
        if observation.get("image"):
            space = space.for_images(*observation["shape"][1:])
    space = population_space(space)
    settings = request.settings
    initial = sample_configurations(space, kind, settings.population, settings.seed)
    origins = []
    for member, (params, proposal) in enumerate(
        _population_warm_start(request, storage_url, space, kind)
    ):
        completed = _completed(space, kind, initial[member], params)
        if completed is not None:
            initial[member] = completed
            origins.append(proposal.origin())
    return store.create_run(
        storage_url,
        request.run_name(),
        request.task,
        request.algo,
        kind,
        settings,
        space.to_dict(),
        initial,
        origins,
    )


def run_pbt(
    name: str, storage_url: str, jobs: int = 1, device: str = "auto"
) -> tuple[Any, dict[str, Any] | None]:
    """Work a stored run here until it ends (a stopped or crashed run resumes from its
    checkpoints), then test the winner on unseen episodes: ``(run, test record or None)``."""
    from autorl.db import population as store
    from autorl.runtime.population_run import publish_winner, run_here
    from autorl.training.device import resolve_device

    run = store.get_run(storage_url, name)
    if run is None:
        raise StudyError(f"no population-based training run named {name!r} in {storage_url}")
    space = SearchSpace.from_dict(run.space)
    resolved = resolve_device(device, space.policy)
    run = run_here(storage_url, name, jobs, resolved)
    return run, publish_winner(storage_url, run, resolved)


def pbt_schedule(name: str, storage_url: str) -> list[dict[str, Any]]:
    """The winning member's hyperparameters over time: one entry per segment of its lineage
    (steps, the values it trained with, whose checkpoint it started from, its score)."""
    from autorl.db import population as store
    from autorl.runtime.population import lineage, winner

    run = store.get_run(storage_url, name)
    if run is None:
        raise StudyError(f"no population-based training run named {name!r} in {storage_url}")
    best = winner(storage_url, run)
    if best is None:
        raise StudyError(f"run {name!r} has not finished its last generation ({run.state})")
    return [
        {
            "generation": s.generation,
            "start_step": s.start_step,
            "until_step": s.until_step,
            "member": s.member,
            "copied_from": s.source_member if s.exploited else None,
            "score": s.score,
            "params": dict(s.params),
        }
        for s in lineage(storage_url, run, best.member)
    ]


def _population_warm_start(
    request: PbtRequest, storage_url: str, space: SearchSpace, kind: str
) -> list:
    """Up to half the population from similar past tasks (the rest stays random: a
    population needs its diversity)."""
    from autorl.knowledge.warmstart import population_proposals
    from autorl.runtime.isolation import call_apart
    from autorl.runtime.tasks import needs_features, register

    request.warm_start.check()
    if request.warm_start.mode == "none":
        return []
    features = None
    if needs_features(storage_url, request.task):
        from autorl.envs.features import probe_features

        try:
            features = call_apart(probe_features, request.task, timeout_s=600.0)
        except Exception as exc:  # the segments will meet (and store) what broke the env
            log.warning("warm start skipped: probing %s failed: %s", request.task.env_id, exc)
            return []
    record = register(storage_url, request.task, features)
    count = min(request.warm_start.proposals, request.settings.population // 2)
    return population_proposals(
        storage_url, request.algo, record, request.settings.timesteps, space, count,
        request.warm_start,
    )  # fmt: skip


def _completed(
    space: SearchSpace, kind: str, sampled: Mapping[str, Any], proposed: Mapping[str, Any]
) -> dict[str, Any] | None:
    """A proposal's values over a sampled configuration (what it leaves out), if valid."""
    merged = {**sampled, **proposed}
    try:
        space.validate_params(merged, kind)
    except SpaceError:  # a combination the space refuses: keep the sample
        return None
    return merged
