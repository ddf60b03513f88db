"""Hyperparameter importances, or a sentence saying why there are none."""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass

import optuna
from optuna.trial import TrialState

log = logging.getLogger(__name__)

MIN_COMPLETED = 5  # fewer completed trials than this tell nothing about importance


@dataclass(frozen=True)
class Importances:
    """``values`` (parameter -> importance, largest first) or ``reason`` why there are none."""

    values: dict[str, float]
    evaluator: str
    reason: str | None
    excluded: dict[str, str]  # parameter -> why it was left out
    completed: int
    caveats: tuple[str, ...] = ()


def _evaluator() -> tuple[optuna.importance.BaseImportanceEvaluator, str]:
    """fANOVA (Optuna's default) when scikit-learn is installed, else PED-ANOVA."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return optuna.importance.PedAnovaImportanceEvaluator(), "PED-ANOVA"
    return optuna.importance.FanovaImportanceEvaluator(seed=0), "fANOVA"


def compute_importances(study: optuna.Study) -> Importances:
    """Importances over the completed trials, using parameters every one of them sampled."""
    done = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.value is not None and math.isfinite(t.value)
    ]
    evaluator, name = _evaluator()

    def none(reason: str, excluded: dict[str, str] | None = None) -> Importances:
        return Importances({}, name, reason, excluded or {}, len(done))

    if len(done) < MIN_COMPLETED:
        return none(
            f"Parameter importances need at least {MIN_COMPLETED} completed trials; "
            f"this study has {len(done)}."
        )
    if len({t.value for t in done}) < 2:
        return none("Every completed trial has the same score: no parameter made a difference.")

    names = sorted({p for t in done for p in t.params})
    excluded: dict[str, str] = {}
    usable = []
    for param in names:
        values = [t.params[param] for t in done if param in t.params]
        if len(values) < len(done):
            excluded[param] = "not sampled in every completed trial (conditional)"
        elif len({repr(v) for v in values}) < 2:
            excluded[param] = "the same value in every completed trial"
        else:
            usable.append(param)
    if not usable:
        return none("No parameter varies across the completed trials.", excluded)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            values = optuna.importance.get_param_importances(
                study, evaluator=evaluator, params=usable
            )
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            log.warning("parameter importances of %s failed: %s", study.study_name, exc)
            return none(f"Optuna could not compute parameter importances: {exc}", excluded)
    messages = tuple(
        str(w.message)
        for w in caught
        if not issubclass(w.category, optuna.exceptions.ExperimentalWarning)
    )
    if any("will be equal" in m for m in messages):
        return none(
            "Too few completed trials to tell the parameters apart "
            f"({name} would give every parameter the same importance).",
            excluded,
        )
    clean = {k: float(v) for k, v in values.items() if math.isfinite(v)}
    if not clean:
        return none("Optuna returned no finite importance.", excluded)
    ordered = dict(sorted(clean.items(), key=lambda kv: kv[1], reverse=True))
    return Importances(ordered, name, None, excluded, len(done), messages)
