"""Leave-one-task-out evaluation of warm starting on a recorded table (no training).

For each task of the table, the others are the history: a warm arm tries the strategy's
proposals first, then continues with a searcher; a cold arm uses the searcher alone. A
search over a table draws from the configurations scored on every task (the pool), so every
proposal has a known score. Metrics (per task and repetition, then summarised):

- trials to threshold: the first trial whose score reaches the task's threshold (runs that
  never reach it count as ``n_trials + 1``, and the summary says how many reached it);
- normalised regret after t trials: 1 - normalised(best score so far), with the table's best
  configuration for the task at 1 and the random policy at 0 (``Table.scale``);
- first-3 hit: whether one of the first three trials reaches the threshold.
"""

from __future__ import annotations

import random
import statistics
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from autorl.meta.data import PastTask
from autorl.meta.normalize import Scale
from autorl.meta.params import params_key
from autorl.meta.strategies import propose
from autorl.meta.table import Table

# (table, held-out task, first configurations, trials, seed, history) -> configurations tried
Searcher = Callable[[Table, str, Sequence[str], int, int, Sequence[PastTask]], list[str]]
REGRET_AT = (5, 10, 20)


def random_search(
    table: Table, task: str, first: Sequence[str], n: int, seed: int, past: Sequence[PastTask] = ()
) -> list[str]:
    """The given first configurations, then the rest of the pool in random order."""
    rest = [c for c in table.common_configs() if c not in first]
    random.Random(seed).shuffle(rest)
    return [*first, *rest][:n]


@dataclass(frozen=True)
class Arm:
    """One way of searching: a warm-start strategy (or none: cold) and a searcher."""

    name: str
    searcher: str
    strategy: str | None = None
    proposals: int = 5
    history: Table | None = None  # default: the other tasks of the evaluated table
    # treat ``history`` as if it were the target's family: the down-weighting and fallback
    # switched off, to measure what they protect against
    trust_history: bool = False
    # learn from only this many of the other tasks, a different random choice per repetition
    # (1: the second task of a family); None: all of them
    history_tasks: int | None = None


@dataclass(frozen=True)
class RunResult:
    task: str
    arm: str
    rep: int
    configs: tuple[str, ...]
    scores: tuple[float | None, ...]
    regret: tuple[float, ...]  # after 1, 2, ... trials
    to_threshold: int | None  # 1-based trial index, None if never reached
    warm_first: int  # how many of the first trials came from the strategy


def score_run(
    task: str,
    arm: str,
    rep: int,
    configs: Sequence[str],
    scores: Sequence[float | None],
    scale: Scale,
    threshold: float,
    n_warm: int,
) -> RunResult:
    """The metrics of one search: the scores of its trials in the order they were run."""
    regret, best = [], -1.0
    to_threshold = None
    for i, score in enumerate(scores, 1):
        best = max(best, scale(score))
        regret.append(round(1.0 - best, 6))
        if to_threshold is None and score is not None and score >= threshold:
            to_threshold = i
    return RunResult(
        task, arm, rep, tuple(configs), tuple(scores), tuple(regret), to_threshold, n_warm
    )


def _run(
    table: Table,
    task: str,
    arm: Arm,
    configs: list[str],
    rep: int,
    n_warm: int,
    threshold: float | None,
) -> RunResult:
    scores = [table.score(task, c) for c in configs]
    limit = table.threshold(task) if threshold is None else threshold
    return score_run(task, arm.name, rep, configs, scores, table.scale(task), limit, n_warm)


def search_seed(task: str, rep: int) -> int:
    """The searcher's seed for one repetition on one task: repetitions differ, and so do tasks
    (one seed for all tasks would make every task's random start the same draw)."""
    return zlib.crc32(f"{task}/{rep}".encode())


def history_for(table: Table, task: str, arm: Arm, rep: int = 0) -> list[PastTask]:
    """What the arm knows when ``task`` is held out in repetition ``rep``: the other tasks (or
    ``arm.history_tasks`` of them), or the arm's own history."""
    history = arm.history or table
    names = [n for n in history.tasks if history is not table or n != task]
    if arm.history_tasks is not None and arm.history_tasks < len(names):
        names = sorted(random.Random(search_seed(task, rep)).sample(names, arm.history_tasks))
    past = [history.past_task(n) for n in names]
    if arm.trust_history:
        families = table.target(task).families
        past = [replace(p, families=families) for p in past]
    return past


def warm_first(
    table: Table, task: str, arm: Arm, past: Sequence[PastTask] | None = None
) -> list[str]:
    """The arm's proposals for ``task`` as pool configurations (those outside the pool dropped),
    learnt from ``past`` (default: ``history_for`` the arm)."""
    if arm.strategy is None:
        return []
    past = history_for(table, task, arm) if past is None else past
    pool = set(table.common_configs())
    first = []
    for proposal in propose(past, table.target(task), arm.proposals, arm.strategy):
        key = params_key(proposal.params)
        if key in pool and key not in first:
            first.append(key)
    return first


def leave_one_task_out(
    table: Table,
    arms: Sequence[Arm],
    searchers: dict[str, Searcher],
    n_trials: int,
    reps: int,
    tasks: Sequence[str] | None = None,
    threshold: float | None = None,
) -> list[RunResult]:
    """Every arm on every held-out task, ``reps`` times. ``threshold`` (a return) replaces the
    tasks' own thresholds in the metrics only: what the arms learn from is unchanged."""
    results = []
    for task in tasks or list(table.tasks):
        for arm in arms:
            for rep in range(reps):
                past = history_for(table, task, arm, rep)
                first = warm_first(table, task, arm, past)
                seed = search_seed(task, rep)
                configs = searchers[arm.searcher](table, task, first, n_trials, seed, past)
                results.append(_run(table, task, arm, configs, rep, len(first), threshold))
    return results


@dataclass(frozen=True)
class ArmSummary:
    arm: str
    runs: int
    reached: int  # runs that reached the threshold within n_trials
    median_trials_to_threshold: float  # censored runs count as n_trials + 1
    regret_at: dict[int, float]  # mean normalised regret after t trials
    first3_hit_rate: float  # fraction of held-out tasks where a first-3 trial reached it


def summarize(results: Sequence[RunResult], n_trials: int) -> list[ArmSummary]:
    summaries = []
    for arm in dict.fromkeys(r.arm for r in results):
        runs = [r for r in results if r.arm == arm]
        trials = [r.to_threshold if r.to_threshold is not None else n_trials + 1 for r in runs]
        per_task: dict[str, list[bool]] = {}
        for r in runs:
            per_task.setdefault(r.task, []).append(
                r.to_threshold is not None and r.to_threshold <= 3
            )
        summaries.append(
            ArmSummary(
                arm=arm,
                runs=len(runs),
                reached=sum(r.to_threshold is not None for r in runs),
                median_trials_to_threshold=float(statistics.median(trials)),
                regret_at={
                    t: round(statistics.fmean(r.regret[min(t, len(r.regret)) - 1] for r in runs), 4)
                    for t in REGRET_AT
                    if t <= n_trials
                },
                first3_hit_rate=round(
                    statistics.fmean(statistics.fmean(hits) for hits in per_task.values()), 4
                ),
            )
        )
    return summaries
