"""Scores over seeds: how one configuration's per-seed returns become one number, and when a
configuration has earned another seed (racing). Pure functions of floats; imports nothing.

Aggregates (``--aggregate``):

- ``mean``: the plain mean.
- ``iqm``: the interquartile mean (rliable): the mean of the empirical quantile function over
  [0.25, 0.75], with fractional weights at the edges, so it is defined for every n. For three
  seeds a <= b <= c it is a/6 + 2b/3 + c/6 (scipy's ``trim_mean(x, 0.25)`` trims nothing there
  and is the plain mean).
- ``median``.
- ``worst``: the lowest seed.
- ``lcb``: the mean minus ``LCB_Z`` standard errors (sample std / sqrt(n)); with one seed there
  is no spread to measure and it is the score itself.

Racing (SMAC's intensification, irace's races, adapted to a few expensive seeds): a
configuration that has run k seeds earns seed k+1 when, if its remaining seeds scored
optimistically (its mean so far plus ``z`` times the study's seed-to-seed spread, but no
higher than a return cap the study has shown: ``return_cap``, CartPole's 500),
its aggregate over ``max_seeds`` seeds would beat the incumbent's by more than the minimum
practical difference (``practical_margin``: 1% of the range from the random policy's return
to the best seed score; on a plateau every configuration reaches, differences of a thousandth
of a point are not worth a seed). The
incumbent is the best aggregate over at least ``min_seeds`` seeds. With no incumbent yet (the
start of a study, where parallel workers race their first configurations at once) a
configuration earns its seeds unless its mean is below the median first-seed score of the
other configurations, below the random policy's return (``floor``, when the task's is known),
or no better (by the margin) than a configuration racing now: the first ones set the bar, but
a poor one does not spend seeds setting it, nor a second one that only matches the first (a
study whose configurations all score below random gets its incumbent from its last trial, see
``autorl.runtime.runner.claim``). See ``should_continue``.

Ties: returns with a ceiling (CartPole's 500) tie often, and three seeds at the cap cannot tell
a configuration that reaches it at once and stays from one that reached it at its last
evaluation. A tie is broken by the area under the learning curve (``curve_area``: the mean
of a run's evaluation returns, averaged over the configuration's complete seed runs): a
configuration tied with the incumbent earns its next seed when its area is larger, and the
study's best is the highest aggregate, then the highest area.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

AGGREGATES = ("mean", "iqm", "median", "worst", "lcb")
LCB_Z = 1.0  # standard errors below the mean


def _iqm(scores: Sequence[float]) -> float:
    ordered = sorted(scores)
    n = len(ordered)
    total = 0.0
    for i, score in enumerate(ordered):
        low, high = max(i / n, 0.25), min((i + 1) / n, 0.75)
        if high > low:
            total += (high - low) * score
    return total / 0.5


def _lcb(scores: Sequence[float]) -> float:
    if len(scores) < 2:
        return float(scores[0])
    return statistics.fmean(scores) - LCB_Z * statistics.stdev(scores) / math.sqrt(len(scores))


_FUNCTIONS: dict[str, Callable[[Sequence[float]], float]] = {
    "mean": statistics.fmean,
    "iqm": _iqm,
    "median": statistics.median,
    "worst": min,
    "lcb": _lcb,
}


def check_aggregate(method: str) -> None:
    if method not in _FUNCTIONS:
        raise ValueError(f"--aggregate {method!r} is not one of {', '.join(AGGREGATES)}")


def aggregate(scores: Sequence[float], method: str) -> float:
    """One number for a configuration's per-seed scores (ValueError on no scores)."""
    check_aggregate(method)
    if not scores:
        raise ValueError("no scores to aggregate")
    return float(_FUNCTIONS[method](scores))


def curve_area(means: Sequence[float]) -> float | None:
    """The area under one run's learning curve, per evaluation: the mean of its evaluation
    returns (None for a run without evaluations)."""
    return float(statistics.fmean(means)) if means else None


def ties(a: float, b: float) -> bool:
    """Whether two aggregates are the same number (a ceiling both reached, not a near miss)."""
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def return_cap(seed_scores: Sequence[float]) -> float | None:
    """The return a task seems capped at, which no seed's credit may exceed: the study's best
    seed score once two or more seed runs have reached it (CartPole's 500). None while the
    best was reached once (Pendulum's, MountainCar's continuous returns): capping the credit
    there at the best seed seen left a configuration whose first seed beat every other seed
    run of the study with no credit at all, so it was stopped (Pendulum v4, sampler seed 2:
    -121.3 against an incumbent of -129.6, inside the practical margin)."""
    if not seed_scores:
        return None
    best = max(seed_scores)
    return best if sum(ties(s, best) for s in seed_scores) >= 2 else None


def seed_spread(per_config: Sequence[Sequence[float]]) -> float:
    """The typical seed-to-seed standard deviation of a study: the median over configurations
    with two or more seeds of their sample std (a median, so that one configuration with a
    failed seed does not make every other one look noisy). 0.0 when none has two seeds."""
    stds = [statistics.stdev(s) for s in per_config if len(s) >= 2]
    return float(statistics.median(stds)) if stds else 0.0


MARGIN_SHARE = 0.01  # the smallest difference worth a seed, as a share of the task's range


def practical_margin(ceiling: float | None, floor: float | None, lowest: float | None) -> float:
    """The minimum practical difference: ``MARGIN_SHARE`` of the task's score range seen so
    far, from the random policy's return (``floor``; unknown: the ``lowest`` score the study
    has seen) up to the study's best seed score (``ceiling``). 0.0 while the range is unknown
    or empty."""
    bottom = floor if floor is not None else lowest
    if ceiling is None or bottom is None or not math.isfinite(ceiling - bottom):
        return 0.0
    return MARGIN_SHARE * max(0.0, ceiling - bottom)


@dataclass(frozen=True)
class Bar:
    """What a configuration races against, read from the study before each further seed."""

    incumbent: float | None  # the best aggregate over at least min_seeds seeds
    spread: float  # the study's typical seed-to-seed std (``seed_spread``)
    ceiling: float | None = None  # the best score of any seed run of the study
    peers: tuple[float, ...] = ()  # other configurations' complete first-seed scores
    incumbent_area: float | None = None  # the incumbent's ``curve_area`` (tie-breaker)
    floor: float | None = None  # the random policy's return: no race below it, before an incumbent
    margin: float = 0.0  # ``practical_margin``: a challenger must beat the bar by more
    leader: float | None = None  # before an incumbent: the best mean of a configuration racing now


@dataclass(frozen=True)
class RaceDecision:
    go_on: bool
    optimistic: float | None  # the aggregate the configuration could still reach
    bar: float | None  # the incumbent's aggregate it has to beat
    why: str


def should_continue(
    scores: Sequence[float],
    incumbent: float | None,
    spread: float,
    max_seeds: int,
    method: str,
    z: float = 1.0,
    ceiling: float | None = None,
    peers: Sequence[float] = (),
    area: float | None = None,
    incumbent_area: float | None = None,
    floor: float | None = None,
    margin: float = 0.0,
    leader: float | None = None,
) -> RaceDecision:
    """Whether a configuration with ``scores`` (one per seed run so far) earns another seed.

    It does when its aggregate over ``max_seeds`` seeds, the missing ones scored at
    ``mean(scores) + z * spread`` (at most ``ceiling``, and never below its own mean), is
    higher than ``incumbent`` by more than ``margin``, or ties it exactly with a larger
    learning-curve ``area`` than ``incumbent_area``. With no incumbent yet, when its mean is
    at least the median of ``peers`` (other configurations' first-seed scores; none: it does),
    not below ``floor``, and, after its first seed, above the mean of the configuration racing
    now (``leader``) by more than ``margin``: a configuration that is no better than one
    already racing leaves it to set the bar (one that has started racing keeps racing until
    there is an incumbent).
    """
    k = len(scores)
    if k >= max_seeds:
        return RaceDecision(False, None, incumbent, f"ran all {max_seeds} seeds")
    mean = statistics.fmean(scores)
    if incumbent is None and leader is not None and k == 1:
        optimistic = optimistic_aggregate(scores, spread, max_seeds, method, z, ceiling)
        if optimistic <= leader + margin:
            return RaceDecision(
                False,
                optimistic,
                None,
                f"no incumbent yet, and at best {optimistic:.4g} ({method} of {max_seeds} "
                f"seeds) it is no better than a configuration racing now ({leader:.4g}, "
                f"margin {margin:.3g})",
            )
    if incumbent is None:
        if floor is not None and mean < floor:
            return RaceDecision(
                False,
                None,
                None,
                f"no incumbent yet, and its mean {mean:.4g} after {k} seed(s) is below the "
                f"random policy's return {floor:.4g}",
            )
        middle = statistics.median(peers) if peers else None
        if middle is not None and mean < middle:
            return RaceDecision(
                False,
                None,
                None,
                f"no incumbent yet, and its mean {mean:.4g} after {k} seed(s) is below the "
                f"median first-seed score {middle:.4g} of {len(peers)} other configuration(s)",
            )
        return RaceDecision(True, None, None, "no incumbent yet")
    optimistic = optimistic_aggregate(scores, spread, max_seeds, method, z, ceiling)
    if optimistic > incumbent + margin and not ties(optimistic, incumbent):
        return RaceDecision(True, optimistic, incumbent, "may beat the incumbent")
    if (
        ties(optimistic, incumbent)
        and area is not None
        and incumbent_area is not None
        and area > incumbent_area
    ):
        return RaceDecision(
            True,
            optimistic,
            incumbent,
            f"may tie the incumbent at {incumbent:.4g} with a higher learning curve "
            f"(area {area:.4g} against {incumbent_area:.4g})",
        )
    why = (
        f"cannot beat the incumbent after {k} seed(s): at best {optimistic:.4g} "
        f"({method} of {max_seeds} seeds) against {incumbent:.4g}"
    )
    if incumbent < optimistic <= incumbent + margin and not ties(optimistic, incumbent):
        why += f" by more than the practical margin {margin:.3g}"
    if ties(optimistic, incumbent) and area is not None and incumbent_area is not None:
        why += f", and its learning curve is lower (area {area:.4g} against {incumbent_area:.4g})"
    return RaceDecision(False, optimistic, incumbent, why)


def _hope(mean: float, spread: float, z: float, ceiling: float | None) -> float:
    """The score a configuration's missing seeds are credited with: optimistic, capped."""
    hope = mean + z * spread
    return hope if ceiling is None else max(mean, min(hope, ceiling))


def optimistic_aggregate(
    scores: Sequence[float],
    spread: float,
    max_seeds: int,
    method: str,
    z: float = 1.0,
    ceiling: float | None = None,
) -> float:
    """The aggregate over ``max_seeds`` seeds of ``scores``, the missing seeds credited with
    ``mean(scores) + z * spread`` (at most ``ceiling``, never below the mean): the most the
    configuration can hope for (``should_continue``)."""
    hope = _hope(statistics.fmean(scores), spread, z, ceiling)
    return aggregate([*scores, *([hope] * max(0, max_seeds - len(scores)))], method)


@dataclass(frozen=True)
class SeedPlan:
    """How many seeds a configuration runs: raced (``racing``) or always ``max_seeds``."""

    max_seeds: int
    min_seeds: int
    method: str
    racing: bool = True
    z: float = 1.0


class SeedScore(NamedTuple):
    """What one seed run tells the race."""

    score: float
    pruned: bool  # stopped early: its score is the last evaluation
    area: float | None = None  # ``curve_area`` of the run


@dataclass(frozen=True)
class RaceOutcome:
    scores: tuple[float, ...]  # one per seed run, in seed order
    pruned: tuple[bool, ...]  # whether that run was stopped early (its score: the last evaluation)
    stop: str  # why no further seed ran
    selectable: bool  # at least min_seeds runs ran to the end: it may be the study's best


def race(
    run_seed: Callable[[int], SeedScore | tuple[float, bool]],
    bar: Callable[[], Bar],
    plan: SeedPlan,
    free: int = 0,
) -> RaceOutcome:
    """Run one configuration's seeds: ``run_seed(k)`` trains seed index k and returns its
    ``SeedScore`` (or ``(score, pruned)``); ``bar()`` returns what it races against now
    (asked before each further seed of a race).

    The first ``free`` seeds cost nothing (runs a killed predecessor finished): they are taken
    without asking. A pruned run ends the configuration (its remaining seeds would not change
    that it lost). Exceptions of ``run_seed`` propagate.
    """
    runs: list[SeedScore] = []
    stop = f"ran all {plan.max_seeds} seed(s)"
    for k in range(plan.max_seeds):
        if k >= max(1, free) and plan.racing:
            now = bar()
            areas = [r.area for r in runs if r.area is not None]
            decision = should_continue(
                [r.score for r in runs],
                now.incumbent,
                now.spread,
                plan.max_seeds,
                plan.method,
                plan.z,
                now.ceiling,
                now.peers,
                area=statistics.fmean(areas) if areas else None,
                incumbent_area=now.incumbent_area,
                floor=now.floor,
                margin=now.margin,
                leader=now.leader,
            )
            if not decision.go_on:
                stop = decision.why
                break
        run = SeedScore(*run_seed(k))
        runs.append(run)
        if run.pruned:
            stop = f"seed run {k} pruned"
            break
    complete = sum(1 for r in runs if not r.pruned)
    return RaceOutcome(
        tuple(r.score for r in runs),
        tuple(r.pruned for r in runs),
        stop,
        complete >= plan.min_seeds,
    )


def mean_interval(scores: Sequence[float]) -> tuple[float, float] | None:
    """A 95% t-interval of the mean (None below two scores)."""
    n = len(scores)
    if n < 2:
        return None
    mean = statistics.fmean(scores)
    df = n - 1
    t = 1.96 if df > 30 else _T95[max(d for d in _T95 if d <= df)]  # the next lower df: wider
    half = t * statistics.stdev(scores) / math.sqrt(n)
    return mean - half, mean + half


# Two-sided 95% quantiles of Student's t by degrees of freedom (1.96 beyond 30).
_T95 = {
    1: 12.706,
    2: 4.303,
    3: 3.182,
    4: 2.776,
    5: 2.571,
    6: 2.447,
    7: 2.365,
    8: 2.306,
    9: 2.262,
    10: 2.228,
    12: 2.179,
    15: 2.131,
    20: 2.086,
    25: 2.060,
    30: 2.042,
}
