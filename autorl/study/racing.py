"""Racing over seeds inside a study: the incumbent the race is run against, and pruning per
seed run.

The rule itself is ``autorl.scoring.should_continue`` (pure); this module reads what it needs
from the study's stored trials at each seed boundary, so parallel workers race against the
latest incumbent any of them has found.

Pruning per seed: intermediate values of seed index k are reported at ``k * timesteps +
step`` (see ``autorl.study.attrs``). The first seed run is judged by the study's pruner as
before. A later seed run is held to the same standard as first runs, and to the race: it is
pruned when, past the warm-up, its best evaluation so far is below the median of the other
trials' first-seed evaluations at the same step (comparing it with the other raced
configurations' later seeds would hold it to an elite's standard), *and* the configuration,
with this seed ending at that best evaluation and its missing seeds credited as the race
credits them, could no longer beat the incumbent. A seed that is slow to take off
(MountainCar's goal, found late or not at all) is not cut short while its configuration's
other seeds keep it ahead: two seeds at 92 against an incumbent of 23 deserve their third.
Before there is an incumbent a later seed run is not pruned (its configuration is the one
that may become it). A configuration whose later seed is pruned has lost its race: it ends
with the seeds it has and cannot be the study's best.
"""

from __future__ import annotations

import statistics

import optuna
from optuna.trial import FrozenTrial, TrialState

from autorl.scoring import (
    Bar,
    optimistic_aggregate,
    practical_margin,
    return_cap,
    seed_spread,
)
from autorl.study import attrs
from autorl.study.accounting import best_trial, learning_area
from autorl.study.objectives import cost_of, no_larger

MIN_PEERS = 5  # first-seed runs a later seed run is compared with, at least


def complete_seed_scores(trial: FrozenTrial) -> list[float]:
    """Scores of the trial's seed runs that ran to the end (pruned ones left out)."""
    return [
        float(s["score"]) for s in trial.user_attrs.get(attrs.SEEDS) or [] if not s.get("pruned")
    ]


def race_state(
    study: optuna.Study,
    exclude: int | None = None,
    floor: float | None = None,
    last_chance: bool = False,
    objective: str | None = None,
    cost: float | None = None,
) -> Bar:
    """The incumbent (``accounting.best_trial``) and its learning-curve area, the seed spread
    and best seed score from the study's completed trials, the first-seed scores of every
    other trial that has one, running ones too (``exclude``: the trial asking, whose own seeds
    are not yet stored as a result), the best mean of a running trial (racing now), and the
    practical margin. ``floor``: the random policy's return on the task, if known (for the
    margin too). ``last_chance``: the trial may be the study's last
    chance of an incumbent: no first-seed peers, no floor, no leader (it runs its seeds unless
    an incumbent exists). ``objective`` and ``cost``: a study's cost objective and the asking
    trial's cost: its incumbent, peers and leader are the trials no larger than it
    (``autorl.study.objectives``), and a tie with a smaller incumbent is lost (no tie-break
    on learning curves: at equal return the smaller policy dominates); the seed spread and
    the margin stay the study's."""
    others = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING))
        if t.number != exclude
    ]
    done = [t for t in others if t.state == TrialState.COMPLETE]
    judged = no_larger(others, objective, cost)
    firsts = [(t.user_attrs.get(attrs.SEEDS) or [None])[0] for t in judged]
    best = best_trial([t for t in judged if t.state == TrialState.COMPLETE])
    per_config = [complete_seed_scores(t) for t in done]
    racing = [
        statistics.fmean(scores)
        for t in judged
        if t.state == TrialState.RUNNING and (scores := complete_seed_scores(t))
    ]
    seen = [s for t in others for s in complete_seed_scores(t)]
    # a tie with a smaller incumbent is lost (it dominates): no tie-break on learning curves
    smaller = (
        best is not None
        and objective is not None
        and cost is not None
        and (cost_of(best, objective) or 0.0) < cost
    )
    return Bar(
        incumbent=None if best is None else float(best.value),
        spread=seed_spread(per_config),
        ceiling=return_cap([s for scores in per_config for s in scores]),
        peers=()
        if last_chance
        else tuple(float(f["score"]) for f in firsts if f and not f.get("pruned")),
        incumbent_area=None if best is None or smaller else learning_area(best),
        floor=None if last_chance else floor,
        margin=practical_margin(max(seen, default=None), floor, min(seen, default=None)),
        leader=None if last_chance or not racing else max(racing),
    )


class RacingPruner(optuna.pruners.BasePruner):
    """The study's pruner for first seed runs; for later ones, the first-seed median and the
    race (``max_seeds``, ``method``, ``z``: the study's racing settings), both among the
    trials no larger than the one judged where the study has a cost ``objective``."""

    def __init__(
        self,
        first_seed: optuna.pruners.BasePruner,
        timesteps: int,
        later_seeds: bool = True,
        max_seeds: int = 3,
        method: str = "mean",
        z: float = 1.0,
        objective: str | None = None,
    ) -> None:
        self._first = first_seed
        self._timesteps = timesteps
        self._later = later_seeds
        self._warmup = timesteps // 3
        self._max_seeds, self._method, self._z = max_seeds, method, z
        self._objective = objective

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None:
            return False
        index = max(0, (step - 1) // self._timesteps)
        if index == 0:
            return self._first.prune(study, trial)
        if not self._later:
            return False
        within = step - index * self._timesteps
        if within < self._warmup:
            return False
        low, high = index * self._timesteps, (index + 1) * self._timesteps
        own = [v for s, v in trial.intermediate_values.items() if low < s <= high]
        every = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
        own_cost = None if self._objective is None else cost_of(trial, self._objective)
        finished = no_larger(every, self._objective, own_cost)
        peers = [
            t.intermediate_values[within]
            for t in finished
            if t.number != trial.number and within in t.intermediate_values
        ]
        if len(peers) < MIN_PEERS or not own or max(own) >= statistics.median(peers):
            return False
        return not self._may_still_win(trial, max(own), finished, every)

    def _may_still_win(
        self,
        trial: FrozenTrial,
        best_so_far: float,
        judged: list[FrozenTrial],
        every: list[FrozenTrial],
    ) -> bool:
        """Whether the configuration, this seed ending at ``best_so_far``, could still beat
        the incumbent among ``judged`` (True when there is none); the seed spread and the
        return cap are those of ``every`` finished trial."""
        best = best_trial([t for t in judged if t.state == TrialState.COMPLETE])
        if best is None:
            return True
        done = [t for t in every if t.state == TrialState.COMPLETE]
        scores = [*complete_seed_scores(trial), best_so_far]
        spread = seed_spread([complete_seed_scores(t) for t in done])
        ceiling = return_cap([s for t in done for s in complete_seed_scores(t)])
        hope = optimistic_aggregate(scores, spread, self._max_seeds, self._method, self._z, ceiling)
        return hope > float(best.value)
