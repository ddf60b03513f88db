"""A trial's sampling in few round trips: its writes in one transaction, the study's
trials read once.

Optuna's storage commits every suggested parameter and every attribute on its own: a PPO
trial committed ~50 times, its 19 parameters alone 19 times, and on SQLite each commit costs
1.5-2 ms of the trial's overhead (``benchmarks/overhead``). Inside ``one_transaction(trial)``
the trial's ``set_trial_param`` and ``set_trial_user_attr`` calls are kept, and written
together when the block ends (also when it raises: a trial that failed half-way through its
sampling keeps, and re-queues, what it had).

On an RDB storage (SQLite, PostgreSQL) the batch is four statements into Optuna's tables,
defined by Optuna's own models, with Optuna's checks (a finished trial refuses writes, a
parameter's distribution must stay compatible across the study); its 19 parameters and
~9 attributes through Optuna's per-row writes were ~60 statements (40 ms of a trial on a
busy VM). On any other storage, or when the batch hits a constraint (a parameter already
stored), each write goes through the public API as before: a change costs speed, never data.

Multivariate TPE with the constant liar reads every trial of the study three to four times
while it proposes one configuration (the search-space groups, then once per group, uncached
because running trials count); inside the block those reads are one, or none when the caller
passes the trials it read moments before (a claim reads them under the study's lock).
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
from collections.abc import Container, Iterator, Sequence
from typing import Any

import optuna
import sqlalchemy
import sqlalchemy.exc
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.dialects import postgresql, sqlite

log = logging.getLogger(__name__)
_UPSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


class _Buffered:
    """The trial's storage, except that its parameter and user-attribute writes wait."""

    def __init__(self, storage: optuna.storages.BaseStorage) -> None:
        self._storage = storage
        self.params: list[tuple[int, str, float, BaseDistribution]] = []
        self.user_attrs: dict[tuple[int, str], Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)

    def set_trial_param(
        self, trial_id: int, name: str, value: float, distribution: BaseDistribution
    ) -> None:
        self.params.append((trial_id, name, value, distribution))

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        self.user_attrs[(trial_id, key)] = value

    def flush(self) -> None:
        if not (self.params or self.user_attrs):
            return
        rdb = _batch_capable(self._storage)
        if rdb is not None:
            try:
                _write_together(self._storage, rdb, self.params, self.user_attrs)
                return
            except sqlalchemy.exc.IntegrityError as exc:
                log.debug("one-transaction write refused (%s); writing one by one", exc)
        for trial_id, name, value, distribution in self.params:
            self._storage.set_trial_param(trial_id, name, value, distribution)
        for (trial_id, key), value in self.user_attrs.items():
            self._storage.set_trial_user_attr(trial_id, key, value)


class _ReadOnce:
    """The study's storage, except that it reads the study's trials at most once (``seen``:
    the trials as the caller already read them, then not at all)."""

    def __init__(
        self,
        storage: optuna.storages.BaseStorage,
        study_id: int,
        seen: Sequence[FrozenTrial] | None,
    ) -> None:
        self._storage, self._study_id = storage, study_id
        self._trials = None if seen is None else list(seen)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)

    def get_all_trials(
        self,
        study_id: int,
        deepcopy: bool = True,
        states: Container[TrialState] | None = None,
    ) -> list[FrozenTrial]:
        if study_id != self._study_id:
            return self._storage.get_all_trials(study_id, deepcopy=deepcopy, states=states)
        if self._trials is None:
            self._trials = self._storage.get_all_trials(study_id, deepcopy=False)
        trials = self._trials if states is None else [t for t in self._trials if t.state in states]
        return copy.deepcopy(trials) if deepcopy else trials


def _batch_capable(storage: optuna.storages.BaseStorage) -> Any | None:
    """The RDB storage under ``storage`` (Optuna wraps it in a cache) when its database can
    take the batch's upserts (SQLite, PostgreSQL)."""
    backend = getattr(storage, "_backend", storage)
    if isinstance(backend, optuna.storages.RDBStorage) and backend.engine.name in _UPSERTS:
        return backend
    return None


def _known_distributions(
    storage: optuna.storages.BaseStorage, trial_id: int
) -> dict[str, BaseDistribution]:
    """The distributions the study's trials gave each parameter, as Optuna's cache knows them
    (the batch looks up the missing ones: one query), kept up to date by the batch."""
    try:
        study_id, _ = storage._trial_id_to_study_id_and_number[trial_id]
        return storage._studies[study_id].param_distribution
    except (AttributeError, KeyError):
        return {}


def _write_together(
    storage: optuna.storages.BaseStorage,
    rdb: optuna.storages.RDBStorage,
    params: list[tuple[int, str, float, BaseDistribution]],
    user_attrs: dict[tuple[int, str], Any],
) -> None:
    """Four statements whatever the batch's size, into Optuna's own tables (its models'
    definitions): the trials' states (a finished trial refuses writes, as in Optuna), the
    study's earlier distributions of new parameter names (an incompatible one refuses the
    batch), the parameters, the attributes (upserted)."""
    from optuna.storages._rdb.models import TrialModel, TrialParamModel, TrialUserAttributeModel

    trials, names = TrialModel.__table__, TrialParamModel.__table__.c.param_name
    trial_ids = {t for t, *_ in params} | {t for t, _ in user_attrs}
    with rdb.engine.begin() as conn:
        rows = conn.execute(
            sqlalchemy.select(trials.c.trial_id, trials.c.study_id, trials.c.state).where(
                trials.c.trial_id.in_(trial_ids)
            )
        ).all()
        study_of = {row.trial_id: row.study_id for row in rows}
        for row in rows:
            rdb.check_trial_is_updatable(row.trial_id, row.state)
        if missing := trial_ids - set(study_of):
            raise KeyError(f"no trial with id {sorted(missing)}")
        known = {t: _known_distributions(storage, t) for t in trial_ids}
        unknown = {(study_of[t], name) for t, name, *_ in params if name not in known[t]}
        earlier: dict[tuple[int, str], BaseDistribution] = {}
        if unknown:
            found = conn.execute(
                sqlalchemy.select(trials.c.study_id, names, TrialParamModel.distribution_json)
                .join(trials, trials.c.trial_id == TrialParamModel.trial_id)
                .where(trials.c.study_id.in_({s for s, _ in unknown}))
                .where(names.in_({n for _, n in unknown}))
                .order_by(TrialParamModel.param_id.desc())  # the first one wins below
            ).all()
            for study_id, name, text in found:
                earlier[(study_id, name)] = optuna.distributions.json_to_distribution(text)
        for trial_id, name, _, distribution in params:
            previous = known[trial_id].get(name) or earlier.get((study_of[trial_id], name))
            if previous is not None:
                optuna.distributions.check_distribution_compatibility(previous, distribution)
        if params:
            conn.execute(
                sqlalchemy.insert(TrialParamModel.__table__),
                [
                    {
                        "trial_id": t,
                        "param_name": name,
                        "param_value": value,
                        "distribution_json": optuna.distributions.distribution_to_json(d),
                    }
                    for t, name, value, d in params
                ],
            )
        if user_attrs:
            insert = _UPSERTS[rdb.engine.name](TrialUserAttributeModel.__table__)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["trial_id", "key"],
                    set_={"value_json": insert.excluded.value_json},
                ),
                [
                    {"trial_id": t, "key": key, "value_json": json.dumps(value)}
                    for (t, key), value in user_attrs.items()
                ],
            )
    for trial_id, name, _, distribution in params:
        known[trial_id].setdefault(name, distribution)


@contextlib.contextmanager
def one_transaction(
    trial: optuna.Trial, seen: Sequence[FrozenTrial] | None = None
) -> Iterator[None]:
    """The block's parameter suggestions and ``set_user_attr`` calls on ``trial``, committed
    together when it ends. The trial reads its own values back as usual meanwhile (Optuna
    keeps them on the trial object); other processes see them at the commit. The sampler's
    reads of the study's trials are one read for the block; ``seen``: the study's trials as
    the caller read them just before (then no read)."""
    real = trial.storage
    buffered = _Buffered(real)
    trial.storage = buffered
    try:
        with trials_read_once(trial.study, seen):
            yield
    finally:
        trial.storage = real
        buffered.flush()


@contextlib.contextmanager
def trials_read_once(
    study: optuna.Study, seen: Sequence[FrozenTrial] | None = None
) -> Iterator[None]:
    """Reads of the study's trials inside the block (Optuna's and its sampler's): one, or
    none when ``seen`` holds them as the caller read them just before."""
    real = study._storage
    study._storage = _ReadOnce(real, study._study_id, seen)
    try:
        yield
    finally:
        study._storage = real
