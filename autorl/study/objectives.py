"""Several objectives: return against the policy's size or latency.

A study tuned with ``--objectives return,params`` (or ``return,latency``) remains, for
Optuna, a study that maximises return (its robust aggregate over seeds), so that sampling,
pruning, racing and every reader of a study work as for any other; each trial also carries
its policy's cost (``autorl.training.cost``: acting parameters and latency per action,
measured on the untrained model before the trial trains). What changes is whom a trial is
judged against: **only trials that cost no more than it does**, because only they can
dominate it on the front.

- Pruning (``CostAwareMedianPruner``): a trial stops when its best evaluation so far is below
  the median of the completed trials no larger than it at the same step. A small network is
  never cut short for learning slower than large ones: the front needs it if it is the best of
  its size. Optuna has no pruning for multi-objective studies (optuna#3450); this keeps the
  median rule's savings where they are safe.
- Racing (``autorl.study.racing``): the incumbent a configuration races is the best selectable
  trial no larger than it, so every point of the front is a multi-seed aggregate.
- The front (``pareto_front``): the selectable trials no other selectable trial beats on return
  at no more cost.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from autorl.errors import StudyError
from autorl.spaces.catalog import LAYER_WIDTHS
from autorl.spaces.transform import layer_widths
from autorl.study import attrs
from autorl.study.accounting import is_selectable, selection_key

COSTS = {"params": attrs.POLICY_PARAMS, "latency": attrs.LATENCY_US}  # config.COST_OBJECTIVES
COST_UNITS = {"params": "parameters", "latency": "µs per action"}


def cost_objective(objectives: Sequence[str]) -> str | None:
    """The cost objective of a study's ``objectives`` (None: return alone)."""
    return objectives[1] if len(objectives) > 1 else None


def cost_of(trial: FrozenTrial, objective: str) -> float | None:
    """The trial's ``objective`` cost (None: not measured, e.g. it failed before)."""
    value = trial.user_attrs.get(COSTS[objective])
    return None if value is None else float(value)


def no_larger(
    trials: Sequence[FrozenTrial], objective: str | None, cost: float | None
) -> list[FrozenTrial]:
    """The trials that cost no more than ``cost`` (all of them without a cost objective)."""
    if objective is None or cost is None:
        return list(trials)
    return [t for t in trials if (c := cost_of(t, objective)) is not None and c <= cost]


def pareto_front(trials: Sequence[FrozenTrial], objective: str) -> list[FrozenTrial]:
    """The selectable trials that no selectable trial beats on return at no more cost (ties
    on both: the one ``selection_key`` ranks first), cheapest first."""
    candidates = [t for t in trials if is_selectable(t) and cost_of(t, objective) is not None]
    candidates.sort(key=lambda t: (cost_of(t, objective), tuple(-k for k in selection_key(t))))
    front: list[FrozenTrial] = []
    for trial in candidates:  # cheapest first: on the front iff it beats every cheaper one
        if not front or float(trial.value) > float(front[-1].value):
            front.append(trial)
    return front


PEER_BAND = 4.0  # the median rule's peers cost between 1/PEER_BAND of a trial's and its own


class CostAwareMedianPruner(optuna.pruners.BasePruner):
    """The median rule among the completed trials of about the trial's cost, none larger.

    Peers are the completed trials whose cost lies between ``1/band`` of the trial's and its
    own. Past ``warmup_steps``, and once ``startup`` peers have an evaluation at the step, a
    trial is pruned when its best evaluation so far is below the median of theirs at that
    step (Optuna's ``MedianPruner``, among such peers). No peer is larger, so a pruned trial
    is one that trials no larger beat (a small network is never cut for learning slower than
    big ones); none is much smaller, so a large network is held to large networks' standard,
    not to a median that tiny ones pull down. A trial whose cost is not known is judged
    against every completed trial.
    """

    def __init__(
        self, objective: str, warmup_steps: int, startup: int = 5, band: float = PEER_BAND
    ) -> None:
        self._objective, self._warmup, self._startup = objective, warmup_steps, startup
        self._band = band

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None or step < self._warmup:
            return False
        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        cost = cost_of(trial, self._objective)
        peers = [
            t.intermediate_values[step]
            for t in no_larger(done, self._objective, cost)
            if t.number != trial.number
            and step in t.intermediate_values
            and (cost is None or float(cost_of(t, self._objective) or 0) >= cost / self._band)
        ]
        if len(peers) < self._startup:
            return False
        own = max(v for s, v in trial.intermediate_values.items() if s <= step)
        return own < statistics.median(peers)


def parse_tolerance(text: str) -> float:
    """``"5%"`` or ``"0.05"`` as a fraction in (0, 1]; StudyError otherwise."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        value = math.nan
    if not 0 < value <= 1:
        raise StudyError(
            f"--smallest-within {text!r}: give a fraction of the return range, e.g. 5%"
        )
    return value


def smallest_within(
    front: Sequence[FrozenTrial], tolerance: float, floor: float
) -> FrozenTrial | None:
    """The cheapest trial of ``front`` whose return is within ``tolerance`` of the best's,
    as a fraction of the range from ``floor`` (the random policy's return) to the best, so
    that negative returns work: ``value >= best - tolerance * (best - floor)``."""
    if not front:
        return None
    best = max(float(t.value) for t in front)
    bar = best - tolerance * max(0.0, best - floor)
    return next(t for t in front if float(t.value) >= bar)


def kept(value: float, best: float, floor: float) -> float | None:
    """The fraction of the best's return above ``floor`` that ``value`` keeps."""
    return None if best <= floor else (value - floor) / (best - floor)


SHRINK = "shrink"  # a trial ``source``: ``shrink:<n>``, a smaller network for trial n's settings


def shrink_count(budget: int) -> int:
    """Trials at the end of a size study's budget that shrink its best configuration."""
    return min(4, budget // 5)


def _layers_size(widths: Sequence[int]) -> int:
    """A proxy for the hidden layers' weights (0: a linear policy): the first and last
    layers as if observation and action had 8 dimensions between them, the rest w_i * w_i+1."""
    if not widths:
        return 0
    return 8 * widths[0] + sum(a * b for a, b in itertools.pairwise(widths))


def _size(depth: int, width: int) -> int:
    return _layers_size([width] * depth)


def shrink_ladder(params: Mapping[str, Any], space: Mapping[str, Any], k: int) -> list[dict]:
    """``k`` parameter sets: ``params`` with smaller architectures from ``space`` (a
    ``SearchSpace.to_dict()``), no deeper and no wider than ``params``' own, spaced evenly in
    log size from just below it down to a linear policy where the space allows depth 0. Empty
    where the space does not search ``net_depth`` (int) and ``net_width`` (categorical)."""
    depth_spec = space.get("params", {}).get("net_depth") or {}
    width_spec = space.get("params", {}).get("net_width") or {}
    if depth_spec.get("type") != "int" or width_spec.get("type") != "categorical" or k < 1:
        return []
    if "net_depth" not in params or "net_width" not in params:
        return []
    depth = int(params["net_depth"])
    own = layer_widths(params, depth)
    width, own_size = max(own, default=0), _layers_size(own)
    grid = {
        (d, 0 if d == 0 else w)
        for d in range(int(depth_spec["low"]), depth + 1)
        for w in width_spec["choices"]
        if w <= width and _size(d, w) < own_size
    }
    if not grid:
        return []
    top = math.log1p(own_size)
    picks: list[tuple[int, int]] = []
    for i in range(1, k + 1):  # targets evenly spaced in log size, the last a linear policy
        target = top * (1 - i / k)
        left = [dw for dw in grid if dw not in picks]
        if not left:
            break
        # the nearest in log size; among equals the incumbent's depth, then the wider
        picks.append(
            min(left, key=lambda dw: (abs(math.log1p(_size(*dw)) - target), dw[0] != depth, -dw[1]))
        )
    narrowest = min(width_spec["choices"])
    picks.sort(key=lambda dw: _size(*dw), reverse=True)
    per_layer = [name for name in LAYER_WIDTHS if name in space.get("params", {})]
    ladder = []
    for d, w in picks:  # uniform networks: every layer's width the same
        w = narrowest if d == 0 else w
        ladder.append({**params, "net_depth": d, "net_width": w, **dict.fromkeys(per_layer, w)})
    return ladder
