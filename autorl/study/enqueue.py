"""Queue known configurations as a study's next trials: a user's file, a warm start, and the
study's own at the end of its budget (a racing study's re-race, a size study's shrink)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from autorl.errors import SpaceError
from autorl.spaces import SearchSpace
from autorl.study import attrs
from autorl.study.accounting import best_trial, configuration_key, selection_key
from autorl.study.config import StudyConfig
from autorl.study.objectives import SHRINK, shrink_count, shrink_ladder

log = logging.getLogger(__name__)


def read_configurations(path: Path) -> list[dict[str, Any]]:
    """A JSON list of parameter dicts (or one dict), as ``autorl best --format json`` params."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SpaceError(
            f"--enqueue {path}: cannot read a JSON list of parameter sets: {exc}"
        ) from None
    if isinstance(data, dict):
        data = [data.get("params", data)]
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise SpaceError(f"--enqueue {path}: expected a JSON list of objects of parameters")
    return [d.get("params", d) if "params" in d else d for d in data]


def check_configurations(
    space: SearchSpace, configurations: Sequence[Mapping[str, Any]], where: str = ""
) -> None:
    """SpaceError naming the first configuration that is not inside the space."""
    for i, params in enumerate(configurations):
        try:
            space.validate_params(params)
        except SpaceError as exc:
            raise SpaceError(f"{where}configuration {i}: {exc}") from exc


def enqueue(
    study: optuna.Study,
    space: SearchSpace,
    configurations: Sequence[Mapping[str, Any]],
    source: str = "enqueued",
) -> int:
    """Validate every configuration against the space, then queue them. Returns how many."""
    check_configurations(space, configurations)
    before = len(study.get_trials(deepcopy=False))
    for params in configurations:
        study.enqueue_trial(dict(params), user_attrs={attrs.SOURCE: source}, skip_if_exists=True)
    added = len(study.get_trials(deepcopy=False)) - before
    log.info("queued %d configurations (%s)", added, source)
    return added


def sample_configurations(
    space: SearchSpace, action_space_kind: str, n: int, seed: int
) -> list[dict[str, Any]]:
    """``n`` distinct configurations drawn uniformly at random from the space (reproducible)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    pool: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _ in range(100 * n):
        if len(pool) == n:
            break
        trial = study.ask()
        params = space.sample(trial, action_space_kind)
        study.tell(trial, 0.0)
        key = configuration_key(params)
        if key not in seen:
            seen.add(key)
            pool.append(params)
    return pool


def rerace_if_needed(study: optuna.Study, trials: Sequence[FrozenTrial]) -> bool:
    """Queue the best configuration that stopped after one seed when no configuration has
    run the study's seeds (a study whose configurations all scored below the random policy
    raced none of them): its seed run is taken over and it races from its second seed, so the
    study still gets an incumbent. Nothing when one exists or a trial is queued. Whether it
    queued one."""
    if best_trial(trials) is not None or any(t.state == TrialState.WAITING for t in trials):
        return False
    scored = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    if not scored:
        return False
    best = max(scored, key=selection_key)
    study.enqueue_trial(best.params, user_attrs={attrs.SOURCE: f"{attrs.RERACE}:{best.number}"})
    log.info(
        "study %s: no configuration has run its seeds; the last trial re-races trial %d (%.4g)",
        study.study_name,
        best.number,
        best.value,
    )
    return True


def shrink_if_due(
    study: optuna.Study,
    trials: Sequence[FrozenTrial],
    config: StudyConfig,
    used: int,
    budget: int,
) -> bool:
    """In a study with a cost objective, once all but the last ``shrink_count(budget)``
    trials are used: queue the best configuration with smaller networks
    (``objectives.shrink_ladder``), so that the front's cheap end is searched with settings
    known to work, not only where the sampler happened to go. Once per study (a budget grown
    later shrinks again at its new end). Whether it queued any."""
    k = shrink_count(budget)
    if k == 0 or used != budget - k or any(t.state == TrialState.WAITING for t in trials):
        return False
    source = f"{SHRINK}:"
    if sum(str(t.user_attrs.get(attrs.SOURCE, "")).startswith(source) for t in trials) >= k:
        return False
    best = best_trial(trials)
    if best is None:
        return False
    ladder = shrink_ladder(best.params, config.space, k)
    for params in ladder:
        study.enqueue_trial(params, user_attrs={attrs.SOURCE: f"{source}{best.number}"})
    if ladder:
        log.info(
            "study %s: the last %d trials shrink trial %d's network: %s",
            study.study_name,
            len(ladder),
            best.number,
            ", ".join(f"{p['net_depth']}x{p['net_width']}" for p in ladder),
        )
    return bool(ladder)
