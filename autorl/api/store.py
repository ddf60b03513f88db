"""The API's reads and writes of stored studies (Optuna's storage), as small functions.

Everything the routes need beyond ``autorl.study``: find a study by name, list autorl's
studies, read and set the operator state (paused/cancelled), count trials by state. Counts
come from SQL aggregates (``autorl.study.stats``), never from loading every trial.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import optuna

from autorl.api.errors import NotFound, StorageUnavailable
from autorl.errors import StudyError
from autorl.study.accounting import CANCELLED, PAUSED
from autorl.study.accounting import study_state as budget_state
from autorl.study.config import BUDGET_ATTR, CONFIG_ATTR, STATE_ATTR
from autorl.study.queries import counted_studies
from autorl.study.stats import TrialCounts, study_counts
from autorl.study.storage import open_storage

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class StudyRecord:
    """What the API shows of a study: its name, attributes and trial counts."""

    name: str
    user_attrs: dict[str, Any]
    counts: TrialCounts

    @property
    def budget(self) -> int:
        return int(self.user_attrs.get(BUDGET_ATTR, 0))

    @property
    def state(self) -> str:
        """``cancelled``; else ``done`` once the budget is reached; else ``paused``; else
        ``running`` or ``open``."""
        finished, running = self.counts.finished, self.counts.running
        return budget_state(finished, running, self.budget, _operator(self.user_attrs))


def record_of(storage: optuna.storages.BaseStorage, study: optuna.Study) -> StudyRecord:
    study_id = storage.get_study_id_from_name(study.study_name)
    counts = study_counts(storage, [study_id])[study_id]
    return StudyRecord(study.study_name, study.user_attrs, counts)


def autorl_records(storage: optuna.storages.BaseStorage) -> list[StudyRecord]:
    """Every study autorl created in this storage, oldest first (three queries in all)."""
    return [StudyRecord(s.name, s.user_attrs, s.counts) for s in counted_studies(storage)]


def _operator(user_attrs: dict[str, Any]) -> str | None:
    value = user_attrs.get(STATE_ATTR)
    return value if value in (PAUSED, CANCELLED) else None


def operator_state(study: optuna.Study) -> str | None:
    """``paused``, ``cancelled`` or None (active), as set through the API or by hand."""
    return _operator(study.user_attrs)


def set_operator_state(study: optuna.Study, state: str | None) -> None:
    """Set (or clear, with None) the state workers read; Optuna cannot delete an attribute."""
    study.set_user_attr(STATE_ATTR, state)
    log.info("study %s: state %s", study.study_name, state or "active")


def study_state(storage: optuna.storages.BaseStorage, study: optuna.Study) -> str:
    return record_of(storage, study).state


def open_study_count(storage: optuna.storages.BaseStorage) -> int:
    """Studies that are neither done nor cancelled (paused ones included)."""
    return sum(1 for record in autorl_records(storage) if record.state not in CLOSED)
