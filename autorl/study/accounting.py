"""Which trials count against a study's budget, and summaries of a study's trials.

A trial counts once it is finished: completed, pruned, or failed for a reason that says
something about it (diverged, env_error, timeout, oom, crashed, error). A trial failed as
``killed`` (or without a reason: Optuna's heartbeat) was left RUNNING by a worker that died,
and one failed as ``requeued`` lost its process; their configurations were queued again, so
they do not count. Infeasible configurations were never trained and do not count either.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from autorl.scoring import curve_area
from autorl.study import attrs
from autorl.types import NOT_COUNTED, FailureReason


def failure_reason(trial: FrozenTrial) -> str | None:
    """Why the trial has no score: a FailureReason value, ``killed`` or None if it has one."""
    if trial.state == TrialState.PRUNED:
        return trial.user_attrs.get(attrs.FAILURE_REASON, FailureReason.PRUNED.value)
    if trial.state == TrialState.FAIL:
        return trial.user_attrs.get(attrs.FAILURE_REASON, FailureReason.KILLED.value)
    return None


def counts_against_budget(trial: FrozenTrial) -> bool:
    if trial.state == TrialState.COMPLETE:
        return True
    if trial.state in (TrialState.PRUNED, TrialState.FAIL):
        return failure_reason(trial) not in NOT_COUNTED
    return False


def finished_count(trials: Iterable[FrozenTrial]) -> int:
    return sum(1 for t in trials if counts_against_budget(t))


def running_count(trials: Iterable[FrozenTrial]) -> int:
    return sum(1 for t in trials if t.state == TrialState.RUNNING)


def failure_counts(trials: Iterable[FrozenTrial]) -> dict[str, int]:
    """Trials without a score, by reason (``pruned`` included)."""
    return dict(Counter(r for t in trials if (r := failure_reason(t)) is not None))


def configuration_key(params: Mapping[str, Any]) -> str:
    """A configuration's identity: its parameters as canonical JSON (the same configuration
    proposed, enqueued or retried again has the same key)."""
    return json.dumps(dict(params), sort_keys=True, default=str)


def is_selectable(trial: FrozenTrial) -> bool:
    """Whether the trial may be a study's best: completed, scored, and (racing studies) run on
    the study's ``min_seeds`` seeds. Trials stored before racing have no mark: selectable."""
    return (
        trial.state == TrialState.COMPLETE
        and trial.value is not None
        and bool(trial.user_attrs.get(attrs.SELECTABLE, True))
    )


def learning_area(trial: FrozenTrial) -> float | None:
    """The trial's area under the learning curve (``autorl.scoring.curve_area``) averaged
    over its complete seed runs: the tie-breaker between equal aggregates. None without
    stored curves (trials stored before curves were kept)."""
    areas = [
        area
        for run in trial.user_attrs.get(attrs.SEEDS) or []
        if not run.get("pruned")
        and (area := curve_area([point[1] for point in run.get("curve") or []])) is not None
    ]
    return statistics.fmean(areas) if areas else None


def selection_key(trial: FrozenTrial) -> tuple[float, float, int]:
    """How selectable trials are ranked: aggregate, then learning-curve area, then the
    earlier trial."""
    area = learning_area(trial)
    return (float(trial.value), -math.inf if area is None else area, -trial.number)


def best_trial(trials: Sequence[FrozenTrial]) -> FrozenTrial | None:
    """The selectable trial with the highest value (its aggregate over seeds; scores are
    returns: higher is better), a tie broken by the larger learning-curve area. Never a
    configuration seen on fewer than min_seeds seeds."""
    done = [t for t in trials if is_selectable(t)]
    return max(done, key=selection_key) if done else None


def finalist_entry(final: Mapping[str, Any] | None, number: int) -> dict[str, Any] | None:
    """Trial ``number``'s entry in a final-choice record, if it was a finalist."""
    return next((f for f in (final or {}).get("finalists", []) if f.get("trial") == number), None)


def published_trial(
    trials: Sequence[FrozenTrial], final: Mapping[str, Any] | None
) -> FrozenTrial | None:
    """The trial the study publishes: the final choice among its top trials
    (``autorl.runtime.final_choice``, the record ``final``) while the study's best is one of
    its finalists, else the best trial. A study resumed past its final choice publishes its
    best again until the choice is made anew. The chosen finalist need not be selectable on
    its own: a configuration racing gave fewer than ``min_seeds`` seeds has the final seeds
    besides them."""
    best = best_trial(trials)
    if best is None or not final:
        return best
    if finalist_entry(final, best.number) is None:
        return best
    chosen = next((t for t in trials if t.number == final.get("chosen")), None)
    usable = chosen is not None and chosen.state == TrialState.COMPLETE and chosen.value is not None
    return chosen if usable else best


def total_compute(trials: Iterable[FrozenTrial]) -> dict[str, float]:
    """Env steps and wall-clock seconds spent by all trials, failed and pruned ones included."""
    steps = 0
    wall = 0.0
    for t in trials:
        steps += int(t.user_attrs.get(attrs.ENV_STEPS, 0))
        wall += float(t.user_attrs.get(attrs.WALL_S, 0.0))
    return {"env_steps": steps, "wall_s": wall}
