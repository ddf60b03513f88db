"""Queue known configurations as a study's next trials (a user's file, a warm start)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna

from autorl.errors import SpaceError
from autorl.spaces import SearchSpace
from autorl.study import attrs
from autorl.study.accounting import configuration_key

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
