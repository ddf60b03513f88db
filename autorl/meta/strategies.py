"""Warm-start strategies: from past tasks' trials to the first K configurations of a new task.

Both take plain data (``PastTask``s and a ``TargetTask``) and return ``Proposal``s, best
first. Scores are compared across tasks only after ``normalize.task_scale``; tasks are weighed
by ``similarity.task_weight`` and tasks of weight below ``MIN_WEIGHT`` are ignored, so
unrelated history yields no proposals (a cold start) rather than bad ones.

- ``nearest-best``: the best configuration of the most similar task, then the best of the
  next one, and so on round-robin (auto-sklearn 1.0's nearest-neighbour warm start).
- ``family-best``: the baseline the other two must beat: every past task weighs the same and
  the configurations of best mean score over them come first, whatever the target.
- ``portfolio``: a greedy portfolio (auto-sklearn 2.0): each next configuration is the one
  that most raises the weighted sum over past tasks of the best normalised score the
  portfolio reaches there, so the first few proposals cover different tasks' optima. A
  configuration's score on a task it was not run on is estimated from that task's nearest
  trials in parameter space (a k-nearest-neighbour regression).

Evidence is weighed by seeds: both strategies rank and estimate with a trial's normalised
score shrunk toward its task's typical trial, ``w * norm + (1 - w) * center`` with ``w =
seeds / (seeds + SHRINK_SEEDS)`` and ``center`` the median normalised score of the task's
scored trials (``normalize.Shrink``). Why: the best of many one-seed scores is partly a lucky
seed (the winner's curse: a configuration that scored well on one seed may never learn on
another), and shrinking each score toward the task's typical trial by how much it was
measured is the empirical-Bayes answer. A 3-seed aggregate thus outranks a slightly higher
one-seed score, while a one-seed score far above the rest still wins. A failed trial is not
weighed by its own seeds: it is ``FAILED`` at the task's usual seed count. The portfolio's
coverage of a task starts at the random level at that count (``Shrink.floor``), and its ties
break on a candidate's own ``Shrink.gain``. Where every trial has the same seed count (all
one-seed history: old studies, the seed knowledge base) the shrink, failures included, is an
increasing affine map per task with one slope for all tasks, so the proposals are those of
the plain normalised scores (at one seed exactly; at other counts up to float rounding in
exact ties).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from autorl.errors import UsageError
from autorl.meta.data import PastTask, PastTrial, Proposal, TargetTask
from autorl.meta.normalize import Shrink, task_shrink
from autorl.meta.params import ParamMetric, params_key
from autorl.meta.similarity import task_weight

MIN_WEIGHT = 0.05
CANDIDATES_PER_TASK = 5
NEIGHBOURS = 3

Strategy = Callable[[Sequence[PastTask], TargetTask, int], list[Proposal]]


@dataclass(frozen=True)
class _Scored:
    trial: PastTrial
    task: PastTask
    value: float  # ``norm`` shrunk by its seed count: what it is ranked by
    gain: float  # ``value`` over the task's random level (``Shrink.gain``): the tie-break


def _relevant(past: Sequence[PastTask], target: TargetTask) -> list[tuple[PastTask, float]]:
    weighted = [(task, task_weight(task, target)) for task in past]
    kept = [(t, w) for t, w in weighted if w >= MIN_WEIGHT and t.trials]
    return sorted(kept, key=lambda tw: (-tw[1], tw[0].key))


def _ranked(task: PastTask, shrink: Shrink) -> list[_Scored]:
    """The task's scored trials, best (shrunk) first, one per distinct configuration."""
    best: dict[str, _Scored] = {}
    for trial in task.trials:
        if trial.score is None:
            continue
        scored = _Scored(
            trial,
            task,
            shrink(trial.score, trial.seeds),
            shrink.gain(trial.score, trial.seeds),
        )
        key = params_key(trial.params)
        if key not in best or scored.value > best[key].value:
            best[key] = scored
    return sorted(best.values(), key=lambda s: (-s.value, s.trial.number))


def _proposal(scored: _Scored, expected: float, why: str) -> Proposal:
    return Proposal(
        params=dict(scored.trial.params),
        source_task=scored.task.key,
        source_study=scored.trial.study,
        source_trial=scored.trial.number,
        expected=round(expected, 4),
        why=why,
    )


def nearest_best(past: Sequence[PastTask], target: TargetTask, k: int) -> list[Proposal]:
    """Round-robin over similar tasks, most similar first: each one's next best trial."""
    queues = [
        (task, weight, _ranked(task, task_shrink(task))) for task, weight in _relevant(past, target)
    ]
    proposals: list[Proposal] = []
    seen: set[str] = set()
    depth = 0
    while len(proposals) < k and any(depth < len(q) for _, _, q in queues):
        for task, weight, queue in queues:
            if depth >= len(queue) or len(proposals) >= k:
                continue
            scored = queue[depth]
            key = params_key(scored.trial.params)
            if key in seen:
                continue
            seen.add(key)
            why = f"#{depth + 1} on {task.name or task.key} (weight {weight:.2f})"
            proposals.append(_proposal(scored, weight * scored.value, why))
        depth += 1
    return proposals


def _estimates(
    candidates: list[_Scored], tasks: list[tuple[PastTask, float]], shrinks: list[Shrink]
) -> list[list[float]]:
    """Shrunk normalised score of each candidate on each task: observed where run, else k-NN."""
    pool = [c.trial.params for c in candidates]
    for task, _ in tasks:
        pool.extend(t.params for t in task.trials)
    metric = ParamMetric(pool)
    table = []
    for cand in candidates:
        row = []
        for (task, _), shrink in zip(tasks, shrinks, strict=True):
            observed = [
                shrink(t.score, t.seeds)
                for t in task.trials
                if params_key(t.params) == params_key(cand.trial.params)
            ]
            if observed:
                row.append(sum(observed) / len(observed))
                continue
            near = sorted(
                (
                    (metric.distance(cand.trial.params, t.params), shrink(t.score, t.seeds))
                    for t in task.trials
                ),
                key=lambda dn: dn[0],
            )[:NEIGHBOURS]
            weights = [math.exp(-4 * d) for d, _ in near]
            row.append(sum(w * n for w, (_, n) in zip(weights, near, strict=True)) / sum(weights))
        table.append(row)
    return table


def _coverage(weights: list[float], covered: list[float], row: list[float]) -> float:
    """Weighted sum over tasks of the best score with ``row`` added to the portfolio."""
    return sum(w * max(c, r) for w, c, r in zip(weights, covered, row, strict=True))


def portfolio(past: Sequence[PastTask], target: TargetTask, k: int) -> list[Proposal]:
    """Greedy portfolio over the best few configurations of every similar task."""
    tasks = _relevant(past, target)
    shrinks = [task_shrink(task) for task, _ in tasks]
    candidates: list[_Scored] = []
    seen: set[str] = set()
    for (task, _), shrink in zip(tasks, shrinks, strict=True):
        for scored in _ranked(task, shrink)[:CANDIDATES_PER_TASK]:
            key = params_key(scored.trial.params)
            if key not in seen:
                seen.add(key)
                candidates.append(scored)
    if not candidates:
        return []
    table = _estimates(candidates, tasks, shrinks)
    weights = [w for _, w in tasks]
    total_weight = sum(weights)
    covered = [s.floor for s in shrinks]  # best shrunk score the portfolio reaches per task
    chosen: list[int] = []
    proposals: list[Proposal] = []
    while len(proposals) < min(k, len(candidates)):
        remaining = [i for i in range(len(candidates)) if i not in chosen]
        gains = {i: (_coverage(weights, covered, table[i]), candidates[i].gain) for i in remaining}
        best = max(remaining, key=gains.__getitem__)
        chosen.append(best)
        covered = [max(c, table[best][j]) for j, c in enumerate(covered)]
        expected = sum(w * table[best][j] for j, w in enumerate(weights)) / total_weight
        why = (
            f"portfolio #{len(proposals) + 1}: covers "
            f"{sum(w * c for w, c in zip(weights, covered, strict=True)) / total_weight:.2f} "
            "of the similar tasks' best"
        )
        proposals.append(_proposal(candidates[best], expected, why))
    return proposals


def family_best(past: Sequence[PastTask], target: TargetTask, k: int) -> list[Proposal]:
    """The baseline without similarity: the configurations of best mean (shrunk, normalised)
    score over the relevant past tasks (``MIN_WEIGHT``, as for the others: never another
    action kind), equally weighted, so the same list for every target of a family (its
    single best first)."""
    tasks = [(task, 1.0) for task, _ in _relevant(past, target)]
    shrinks = [task_shrink(task) for task, _ in tasks]
    candidates: list[_Scored] = []
    seen: set[str] = set()
    for (task, _), shrink in zip(tasks, shrinks, strict=True):
        for scored in _ranked(task, shrink)[:CANDIDATES_PER_TASK]:
            if params_key(scored.trial.params) not in seen:
                seen.add(params_key(scored.trial.params))
                candidates.append(scored)
    if not candidates:
        return []
    means = [sum(row) / len(row) for row in _estimates(candidates, tasks, shrinks)]
    order = sorted(range(len(candidates)), key=lambda i: (-means[i], -candidates[i].gain))
    return [
        _proposal(candidates[i], means[i], f"family mean #{rank + 1} over {len(tasks)} tasks")
        for rank, i in enumerate(order[:k])
    ]


STRATEGIES: dict[str, Strategy] = {
    "nearest-best": nearest_best,
    "portfolio": portfolio,
    "family-best": family_best,  # a baseline: one ranking for every task, no similarity
}
DEFAULT_STRATEGY = "portfolio"


def propose(
    past: Sequence[PastTask], target: TargetTask, k: int, strategy: str = DEFAULT_STRATEGY
) -> list[Proposal]:
    """The first ``k`` configurations to try on ``target`` (fewer, or none, if history is thin)."""
    if strategy not in STRATEGIES:
        raise UsageError(f"unknown warm-start strategy {strategy!r}: use {', '.join(STRATEGIES)}")
    if k < 1:
        return []
    return STRATEGIES[strategy](past, target, k)
