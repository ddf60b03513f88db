"""Stored studies and trials as the API's public schemas (plain JSON-safe values)."""

from __future__ import annotations

import math
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from autorl.api.schemas import StudyPublic, TrialPublic
from autorl.api.store import study_state
from autorl.search import attrs
from autorl.search.accounting import failure_counts, failure_reason, running_count
from autorl.search.factory import stored_config
from autorl.search.queries import summarize
from autorl.search.study_config import PRIORITY_ATTR
from autorl.search.warmstart import WARM_START_ATTR


def finite(value: Any) -> float | None:
    """A float JSON can carry: NaN and infinities become None."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def study_public(study: optuna.Study) -> StudyPublic:
    summary = summarize(study)
    config = stored_config(study)
    trials = study.get_trials(deepcopy=False)
    warm = study.user_attrs.get(WARM_START_ATTR) or {}
    return StudyPublic(
        id=study.study_name,
        env_id=summary.env_id,
        algo=summary.algo,
        family=config.task.family,
        state=study_state(study, summary.state),
        trials_done=summary.done,
        budget=summary.budget,
        running=running_count(trials),
        best=finite(summary.best),
        validated_best=finite(summary.validated),
        failures=failure_counts(trials),
        priority=int(study.user_attrs.get(PRIORITY_ATTR, 0)),
        warm_start=list(warm.get("queued", [])),
    )


def _params(trial: FrozenTrial) -> dict[str, Any]:
    """Sampled parameters; for a queued trial, the ones it will be given (Optuna keeps those
    in the ``fixed_params`` system attribute until the trial starts)."""
    if trial.params:
        return dict(trial.params)
    return dict(trial.system_attrs.get("fixed_params") or {})


def trial_public(trial: FrozenTrial) -> TrialPublic:
    steps = trial.user_attrs.get(attrs.ENV_STEPS)
    return TrialPublic(
        number=trial.number,
        state=trial.state.name.lower(),
        value=finite(trial.value),
        params=_params(trial),
        source=trial.user_attrs.get(attrs.SOURCE),
        failure_reason=failure_reason(trial),
        env_steps=None if steps is None else int(steps),
        wall_s=finite(trial.user_attrs.get(attrs.WALL_S)),
    )


def json_safe(value: Any) -> Any:
    """``value`` with every NaN/infinity (nested in lists and dicts) replaced by None."""
    if isinstance(value, float):
        return finite(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
