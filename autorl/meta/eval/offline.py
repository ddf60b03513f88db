"""Meta-evaluation pieces that need Optuna: cold TPE over a table, tables from stored studies.

``tpe_search`` is what autorl's own sampler would do on a table: multivariate TPE proposes a
point, the nearest configuration of the pool not yet tried is "trained" (its recorded score
is looked up), and TPE is told that configuration and score. TPE's random start-up trials
are uniform picks from the untried pool instead: the pool is itself a uniform sample of the
space, while mapping uniform points to their nearest pool configuration would favour
configurations with large empty neighbourhoods (the same ones in every task and repetition).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence

import optuna
from optuna.distributions import BaseDistribution, json_to_distribution
from optuna.trial import TrialState, create_trial

from autorl.knowledge.prior import PriorTPESampler, prior_points
from autorl.meta import PastTask, scale_for
from autorl.meta.params import ParamMetric
from autorl.meta.table import Table, TableRow
from autorl.study.factory import tpe

log = logging.getLogger(__name__)

STARTUP_TRIALS = 5  # as autorl's sampler for a 15-20 trial budget (factory.make_sampler)


def _distributions(rows: Sequence[TableRow]) -> dict[str, BaseDistribution]:
    found: dict[str, BaseDistribution] = {}
    for row in rows:
        for name, text in row.distributions.items():
            found.setdefault(name, json_to_distribution(text))
    return found


def _lookup_search(
    table: Table,
    task: str,
    first: Sequence[str],
    n: int,
    sampler: optuna.samplers.BaseSampler,
    seed: int,
    random_until: int,
) -> list[str]:
    """``first``, random pool picks up to ``random_until`` trials, then the sampler's proposals
    mapped to the nearest untried pool configuration."""
    pool = table.common_configs()
    rows = [table.rows[task][c] for c in pool]
    dists = _distributions(rows)
    metric = ParamMetric(r.params for r in rows)
    floor = table.scale(task).floor
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    chosen: list[str] = []

    def tell(config: str) -> None:
        row = table.rows[task][config]
        value = row.score if row.score is not None else floor
        study.add_trial(
            create_trial(
                params=dict(row.params),
                distributions={k: dists[k] for k in row.params if k in dists},
                value=value,
            )
        )
        chosen.append(config)

    for config in first[:n]:
        tell(config)
    rng = random.Random(seed)
    while len(chosen) < min(n, len(pool), random_until):
        tell(rng.choice([c for c in pool if c not in chosen]))
    while len(chosen) < min(n, len(pool)):
        trial = study.ask(dists)
        point = trial.params
        study.tell(trial, state=TrialState.FAIL)  # a placeholder: the pool point is added below
        untried = [r for r in rows if r.config not in chosen]
        nearest = min(untried, key=lambda r: metric.distance(point, r.params))
        tell(nearest.config)
    return chosen


def tpe_search(
    table: Table, task: str, first: Sequence[str], n: int, seed: int, past: Sequence[PastTask] = ()
) -> list[str]:
    """Cold TPE as autorl runs it, over the table's pool."""
    sampler = tpe(seed, STARTUP_TRIALS)
    return _lookup_search(table, task, first, n, sampler, seed, STARTUP_TRIALS)


def prior_tpe_search(
    table: Table, task: str, first: Sequence[str], n: int, seed: int, past: Sequence[PastTask] = ()
) -> list[str]:
    """TPE with the fading prior of ``past``: what a warm study runs after its proposals."""
    target = table.target(task)
    features = target.features
    prior = prior_points(past, target)
    sampler = PriorTPESampler(
        prior,
        lambda scores: scale_for(scores, features.random_return_mean if features else None, None),
        seed=seed,
        startup=STARTUP_TRIALS,
    )
    # with a prior, TPE models from the first trial on; without one it starts at random
    return _lookup_search(table, task, first, n, sampler, seed, 0 if prior else STARTUP_TRIALS)
