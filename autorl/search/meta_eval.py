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
import warnings
from collections.abc import Sequence

import optuna
from optuna.distributions import BaseDistribution, json_to_distribution
from optuna.trial import TrialState, create_trial

from autorl.meta import PastTask, scale_for
from autorl.meta.params import ParamMetric, params_key
from autorl.meta.table import Table, TableRow, TableTask
from autorl.search import attrs
from autorl.search.factory import stored_config
from autorl.search.history import complete_seeds, task_group
from autorl.search.prior_sampler import PriorTPESampler, prior_points
from autorl.search.storage import open_storage
from autorl.search.trial_stats import stored_trials

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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(
            n_startup_trials=STARTUP_TRIALS, multivariate=True, group=True, seed=seed
        )
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


def table_from_storage(
    storage_url: str, family: str, algo: str, thresholds: dict[str, float | None] | None = None
) -> Table:
    """The family's stored studies for ``algo`` as a table (one task per study's task)."""
    from autorl import db

    storage = open_storage(storage_url)
    table = Table()
    names = {}
    for link in db.study_links(storage_url, family=family, algo=algo):
        record = db.get_task(storage_url, link.task_key)
        study = optuna.load_study(study_name=link.study_name, storage=storage)
        config = stored_config(study)
        name = link.study_name.removeprefix(f"{family}-").removesuffix(f"-{algo}")
        names[name] = link.study_name
        table.add_task(
            TableTask(
                name=name,
                key=task_group(link.task_key, config.timesteps),
                families=record.families if record else (family,),
                features=record.features if record else None,
                threshold=(thresholds or {}).get(name),
            )
        )
        study_id = storage.get_study_id_from_name(link.study_name)
        finished = stored_trials(
            storage,
            study_id,
            (TrialState.COMPLETE, TrialState.FAIL),
            (attrs.FAILURE_REASON, attrs.SEEDS),
        )
        for trial in finished:
            if not trial.params or (
                trial.state == TrialState.FAIL.name and attrs.FAILURE_REASON not in trial.user_attrs
            ):
                continue  # a trial of a killed worker: re-queued, not a result
            table.add_row(
                TableRow(
                    task=name,
                    config=params_key(trial.params),
                    params=trial.params,
                    score=trial.value if trial.state == TrialState.COMPLETE.name else None,
                    distributions=trial.distributions,
                    trial=trial.number,
                    seeds=complete_seeds(trial.user_attrs),
                )
            )
    return table
