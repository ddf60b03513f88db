"""A trial's parameters and attributes written in one transaction.

Optuna's storage commits every suggested parameter and every attribute on its own: a PPO
trial committed ~50 times, its 19 parameters alone 19 times, and on SQLite each commit costs
1.5-2 ms of the trial's overhead (``benchmarks/overhead``). Inside ``one_transaction(trial)``
the trial's ``set_trial_param`` and ``set_trial_user_attr`` calls are kept, and written
together when the block ends (also when it raises: a trial that failed half-way through its
sampling keeps, and re-queues, what it had).

The batch goes through the RDB storage's own per-row writes (Optuna 4's
``_set_trial_param_without_commit`` and ``_set_trial_attr_without_commit``: private). Where
they are missing (another storage, another Optuna), or the batch hits a constraint, each
write goes through the public API as before: a change in Optuna costs speed, never data.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import optuna
import sqlalchemy.exc
from optuna.distributions import BaseDistribution

log = logging.getLogger(__name__)


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


def _batch_capable(storage: optuna.storages.BaseStorage) -> Any | None:
    """The RDB storage under ``storage`` (Optuna wraps it in a cache), if it has the
    per-row writes a batch needs."""
    backend = getattr(storage, "_backend", storage)
    needed = ("scoped_session", "_set_trial_param_without_commit", "_set_trial_attr_without_commit")
    if isinstance(backend, optuna.storages.RDBStorage) and all(hasattr(backend, n) for n in needed):
        return backend
    return None


def _known_distributions(
    storage: optuna.storages.BaseStorage, trial_id: int
) -> dict[str, BaseDistribution]:
    """The distributions the study's trials gave each parameter, as Optuna's cache knows them
    (the RDB storage looks up a missing one: one query), kept up to date by the batch."""
    try:
        study_id, _ = storage._trial_id_to_study_id_and_number[trial_id]
        return storage._studies[study_id].param_distribution
    except (AttributeError, KeyError):
        return {}


def _write_together(
    storage: optuna.storages.BaseStorage,
    rdb: Any,
    params: list[tuple[int, str, float, BaseDistribution]],
    user_attrs: dict[tuple[int, str], Any],
) -> None:
    from optuna.storages._rdb.models import TrialUserAttributeModel

    session = rdb.scoped_session()
    try:
        learned = []
        for trial_id, name, value, distribution in params:
            known = _known_distributions(storage, trial_id)
            rdb._set_trial_param_without_commit(
                session, trial_id, name, value, distribution, known.get(name)
            )
            learned.append((known, name, distribution))
        for (trial_id, key), value in user_attrs.items():
            rdb._set_trial_attr_without_commit(
                session, TrialUserAttributeModel, trial_id, key, value
            )
        session.commit()
        for known, name, distribution in learned:
            known.setdefault(name, distribution)
    except BaseException:
        session.rollback()
        raise


@contextlib.contextmanager
def one_transaction(trial: optuna.Trial) -> Iterator[None]:
    """The block's parameter suggestions and ``set_user_attr`` calls on ``trial``, committed
    together when it ends. The trial reads its own values back as usual meanwhile (Optuna
    keeps them on the trial object); other processes see them at the commit."""
    real = trial.storage
    buffered = _Buffered(real)
    trial.storage = buffered
    try:
        yield
    finally:
        trial.storage = real
        buffered.flush()
