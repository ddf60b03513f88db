"""The API's reads and writes of stored studies (Optuna's storage), as small functions.

Everything the routes need beyond ``autorl.search``: find a study by name, list autorl's
studies, read and set the operator state (paused/cancelled), count trials by state.
"""

from __future__ import annotations

import logging
import threading

import optuna
from optuna.trial import FrozenTrial, TrialState

from autorl.api.errors import NotFound, StorageUnavailable
from autorl.errors import StudyError
from autorl.search.queries import summarize
from autorl.search.storage import open_storage
from autorl.search.study_config import CONFIG_ATTR, STATE_ATTR

log = logging.getLogger(__name__)

PAUSED = "paused"
CANCELLED = "cancelled"
CLOSED = ("done", CANCELLED)  # states that do not count as open studies


class StorageCache:
    """One RDBStorage per API process, opened on first use (a failed open is retried)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._storage: optuna.storages.RDBStorage | None = None
        self._lock = threading.Lock()

    def get(self) -> optuna.storages.RDBStorage:
        with self._lock:
            if self._storage is None:
                try:
                    self._storage = open_storage(self.url)
                except StudyError as exc:
                    raise StorageUnavailable(str(exc)) from exc
            return self._storage


def find_study(storage: optuna.storages.BaseStorage, name: str) -> optuna.Study | None:
    """The study called ``name`` (autorl's or not), or None."""
    try:
        storage.get_study_id_from_name(name)
    except KeyError:
        return None
    return optuna.load_study(study_name=name, storage=storage)


def get_study(storage: optuna.storages.BaseStorage, name: str) -> optuna.Study:
    """The autorl study called ``name``; NotFound (naming it) otherwise."""
    study = find_study(storage, name)
    if study is None:
        raise NotFound(f"no study named {name!r} in this storage (GET /v1/studies lists them)")
    if CONFIG_ATTR not in study.user_attrs:
        raise NotFound(f"study {name!r} was not created by autorl (it has no {CONFIG_ATTR})")
    return study


def autorl_studies(storage: optuna.storages.BaseStorage) -> list[optuna.Study]:
    """Every study autorl created in this storage, oldest first."""
    return [
        optuna.load_study(study_name=s.study_name, storage=storage)
        for s in optuna.get_all_study_summaries(storage, include_best_trial=False)
        if CONFIG_ATTR in s.user_attrs
    ]


def operator_state(study: optuna.Study) -> str | None:
    """``paused``, ``cancelled`` or None (active), as set through the API or by hand."""
    value = study.user_attrs.get(STATE_ATTR)
    return value if value in (PAUSED, CANCELLED) else None


def set_operator_state(study: optuna.Study, state: str | None) -> None:
    """Set (or clear, with None) the state workers read; Optuna cannot delete an attribute."""
    study.set_user_attr(STATE_ATTR, state)
    log.info("study %s: state %s", study.study_name, state or "active")


def study_state(study: optuna.Study, budget_state: str | None = None) -> str:
    """What a user sees: ``cancelled``; else ``done`` once the budget is reached; else
    ``paused``; else ``running`` or ``open`` (``budget_state``: summarize()'s, if known)."""
    operator = operator_state(study)
    if operator == CANCELLED:
        return CANCELLED
    state = budget_state or summarize(study).state
    return operator if operator == PAUSED and state != "done" else state


def open_study_count(storage: optuna.storages.BaseStorage) -> int:
    """Studies that are neither done nor cancelled (paused ones included)."""
    return sum(1 for study in autorl_studies(storage) if study_state(study) not in CLOSED)


def waiting_count(trials: list[FrozenTrial]) -> int:
    return sum(1 for t in trials if t.state == TrialState.WAITING)
