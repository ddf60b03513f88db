"""The API's reads and writes of stored studies (Optuna's storage), as small functions.

Everything the routes need beyond ``autorl.study``: find a study by name, list autorl's
studies, read and set the operator state (paused/cancelled), count trials by state. Counts
come from SQL aggregates (``autorl.study.stats``), never from loading every trial.
"""

from __future__ import annotations

import logging
import threading

import optuna

from autorl.api.errors import NotFound, StorageUnavailable
from autorl.errors import StudyError
from autorl.study import attrs
from autorl.study.listing import CountedStudy, counted_studies
from autorl.study.record import (
    State,
    clear_operator_state,
    write_operator_state,
)
from autorl.study.record import read as read_record
from autorl.study.stats import study_counts
from autorl.study.storage import open_storage

log = logging.getLogger(__name__)

CLOSED = (State.DONE, State.CANCELLED)  # states that do not count as open studies


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
    if attrs.STUDY_CONFIG not in study.user_attrs:
        raise NotFound(f"study {name!r} was not created by autorl (it has no {attrs.STUDY_CONFIG})")
    return study


def counted(storage: optuna.storages.BaseStorage, study: optuna.Study) -> CountedStudy:
    study_id = storage.get_study_id_from_name(study.study_name)
    counts = study_counts(storage, [study_id])[study_id]
    return CountedStudy(study.study_name, study_id, study.user_attrs, counts)


def autorl_studies(storage: optuna.storages.BaseStorage) -> list[CountedStudy]:
    """Every study autorl created in this storage, oldest first (four queries in all)."""
    return counted_studies(storage)


def operator_state(study: optuna.Study) -> State | None:
    """``paused``, ``cancelled`` or None (active), as set through the API or by hand."""
    return read_record(study).operator


def set_operator_state(study: optuna.Study, state: State | None) -> None:
    """Set (or clear, with None) the state workers read."""
    if state is None:
        clear_operator_state(study)
    else:
        write_operator_state(study, state)
    log.info("study %s: state %s", study.study_name, state or "active")


def study_state(storage: optuna.storages.BaseStorage, study: optuna.Study) -> State:
    return counted(storage, study).state


def open_study_count(storage: optuna.storages.BaseStorage) -> int:
    """Studies that are neither done nor cancelled (paused ones included)."""
    return sum(1 for study in autorl_studies(storage) if study.state not in CLOSED)
