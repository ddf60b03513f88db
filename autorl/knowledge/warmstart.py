"""Warm-start a new study: enqueue the meta-learner's proposals as its first trials.

Runs once per study, before its first trial: what was proposed (and from where) is stored in
the study attribute ``autorl.warm_start`` and in each enqueued trial's ``source`` attribute
(``warm_start:task:<key>@<timesteps>/<study>#<trial>``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import optuna

from autorl import db
from autorl.errors import SpaceError, UsageError
from autorl.knowledge.history import past_tasks, target_task
from autorl.knowledge.prior import PriorTPESampler, prior_points
from autorl.meta import DEFAULT_STRATEGY, STRATEGIES, Proposal, propose, scale_for
from autorl.spaces import SearchSpace
from autorl.study import attrs
from autorl.study.config import StudyConfig
from autorl.study.factory import startup_trials, stored_budget, worker_seed
from autorl.study.record import read as read_record
from autorl.study.record import write_warm_start
from autorl.types import TaskRecord

log = logging.getLogger(__name__)

MODES = ("auto", "none")
DEFAULT_PROPOSALS = 5


@dataclass(frozen=True)
class WarmStartSettings:
    mode: str = "auto"  # auto: whenever stored results exist for the same algorithm
    proposals: int = DEFAULT_PROPOSALS
    strategy: str = DEFAULT_STRATEGY
    prior: bool = True  # after the proposals, TPE keeps a fading prior of the past trials
    seed_kb: bool = True  # learn from the shipped seed knowledge base too, not only storage

    def check(self) -> None:
        if self.mode not in MODES:
            raise UsageError(f"--warm-start {self.mode!r}: use one of {', '.join(MODES)}")
        if self.strategy not in STRATEGIES:
            raise UsageError(
                f"--warm-start-strategy {self.strategy!r}: use one of {', '.join(STRATEGIES)}"
            )
        if not 0 <= self.proposals <= 100:
            raise UsageError("--warm-start-trials must be between 0 and 100")


def fit_to_space(params: dict[str, Any], space: SearchSpace, kind: str | None) -> dict[str, Any]:
    """The proposal's values for the parameters this space searches; SpaceError if invalid."""
    kept = {k: v for k, v in params.items() if k in space.searched}
    space.validate_params(kept, kind, partial=True)
    return kept


def warm_start(
    study: optuna.Study,
    config: StudyConfig,
    storage_url: str,
    record: TaskRecord,
    settings: WarmStartSettings,
) -> list[Proposal]:
    """Enqueue up to ``settings.proposals`` configurations from similar past tasks.

    Does nothing for a study that already has trials or was warm-started before.
    """
    if settings.mode == "none" or settings.proposals == 0:
        return []
    if attrs.STUDY_WARM_START in study.user_attrs or study.get_trials(deepcopy=False):
        return []
    space = SearchSpace.from_dict(config.space)
    kind = record.features.action.kind if record.features is not None else None
    budget_room = max(1, stored_budget(study) // 2)
    past = past_tasks(storage_url, config.algo, study.study_name, seed=settings.seed_kb)
    target = target_task(record, config.timesteps, config.task.family)
    proposals = propose(past, target, min(settings.proposals, budget_room), settings.strategy)
    queued: list[Proposal] = []
    for proposal in proposals:
        try:
            params = fit_to_space(dict(proposal.params), space, kind)
        except SpaceError as exc:
            log.info("warm start: skipped %s (%s)", proposal.origin(), exc)
            continue
        study.enqueue_trial(
            params,
            user_attrs={
                attrs.SOURCE: f"warm_start:{proposal.origin()}",
                attrs.WARM_START_EXPECTED: proposal.expected,
            },
            skip_if_exists=True,
        )
        queued.append(proposal)
    write_warm_start(
        study,
        {
            "strategy": settings.strategy,
            "past_tasks": len(past),
            "queued": [p.origin() for p in queued],
            "prior": bool(past) and settings.prior,
            "seed_kb": settings.seed_kb,
        },
    )
    if queued:
        log.info("warm start: queued %d configurations from %d past tasks", len(queued), len(past))
    return queued


def population_proposals(
    storage_url: str,
    algo: str,
    record: TaskRecord,
    timesteps: int,
    space: SearchSpace,
    count: int,
    settings: WarmStartSettings,
) -> list[tuple[dict[str, Any], Proposal]]:
    """Up to ``count`` configurations from similar past tasks for a population's first
    members, as this space's values (a proposal the space cannot hold is skipped)."""
    if settings.mode == "none" or count < 1:
        return []
    kind = record.features.action.kind if record.features is not None else None
    past = past_tasks(storage_url, algo, seed=settings.seed_kb)
    target = target_task(record, timesteps, None)
    out = []
    for proposal in propose(past, target, count, settings.strategy):
        try:
            out.append((fit_to_space(dict(proposal.params), space, kind), proposal))
        except SpaceError as exc:
            log.info("warm start: skipped %s (%s)", proposal.origin(), exc)
    return out


def prior_sampler(
    study: optuna.Study, config: StudyConfig, storage_url: str, worker_index: int = 0
) -> PriorTPESampler | None:
    """The fading-prior sampler for a warm-started study, or None (cold, or nothing similar)."""
    info = read_record(study).warm_start
    if not info or not info.get("prior", False):
        return None
    link = db.get_study_link(storage_url, study.study_name)
    record = db.get_task(storage_url, link.task_key) if link else None
    if record is None:
        return None
    past = past_tasks(storage_url, config.algo, study.study_name, seed=info.get("seed_kb", True))
    points = prior_points(past, target_task(record, config.timesteps, config.task.family))
    if not points:
        return None
    features = record.features
    random_return = features.random_return_mean if features else None
    threshold = features.reward_threshold if features else None
    seed = worker_seed(config, worker_index, len(study.get_trials(deepcopy=False)))
    log.info("sampler: TPE with a fading prior of %d past trials", len(points))
    return PriorTPESampler(
        points,
        lambda scores: scale_for(scores, random_return, threshold),
        seed=seed,
        startup=startup_trials(stored_budget(study)),
    )
