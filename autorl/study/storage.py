"""Open Optuna's RDB storage the way many worker processes need it.

SQLite: the folder is created, the file is put in WAL mode and connections wait for locks
instead of failing with "database is locked". PostgreSQL: connections are checked before use.
One storage (one engine, one connection pool) per process and URL: a worker opened a new
engine per trial step before and held 13-27 PostgreSQL connections (median, max) instead of
2-3, so a few dozen workers would exhaust the server's ``max_connections``
(``benchmarks/service``).
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from pathlib import Path

import optuna
import sqlalchemy.exc
from sqlalchemy import event
from sqlalchemy.engine import make_url

from autorl.db.engine import (
    parse_url,
    prepare_sqlite_file,
    shown_url,
    sqlite_durability,
    unreachable,
)
from autorl.errors import StorageUnreachable, StudyError
from autorl.settings import HeartbeatSettings
from autorl.study.recovery import requeue

log = logging.getLogger(__name__)

SQLITE_LOCK_TIMEOUT_S = 300


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL, or None for any other backend (or in-memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def engine_kwargs_for(url: str) -> dict:
    """SQLAlchemy engine options that suit many concurrent worker processes."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return {"connect_args": {"timeout": SQLITE_LOCK_TIMEOUT_S}}
    return {"pool_pre_ping": True, "pool_recycle": 1800}


_OPENED: dict[tuple[int, str, HeartbeatSettings], optuna.storages.RDBStorage] = {}
_OPENING = threading.Lock()


def open_storage(
    url: str, heartbeat: HeartbeatSettings | None = None
) -> optuna.storages.RDBStorage:
    """An RDBStorage with heartbeats on, so trials of dead workers can be detected; the
    same one for the same URL within a process (a forked child opens its own)."""
    heartbeat = heartbeat or HeartbeatSettings.from_env()
    key = (os.getpid(), url, heartbeat)
    with _OPENING:
        if key not in _OPENED:
            _OPENED[key] = _open(url, heartbeat)
        return _OPENED[key]


def _open(url: str, heartbeat: HeartbeatSettings) -> optuna.storages.RDBStorage:
    parse_url(url)
    path = sqlite_path(url)
    if path is not None:
        prepare_sqlite_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            storage = optuna.storages.RDBStorage(
                url,
                engine_kwargs=engine_kwargs_for(url),
                heartbeat_interval=heartbeat.interval_s,
                grace_period=heartbeat.grace_s,
                heartbeat_stale_trial_callback=requeue,
            )
        if path is not None:  # every connection from now on (those opened so far: closed)
            event.listen(storage.engine, "connect", sqlite_durability)
            storage.engine.dispose()
        return storage
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as exc:
        raise unreachable(url, exc) from exc
    except Exception as exc:
        raise StudyError(f"cannot open storage {shown_url(url)}: {exc}") from exc


def is_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it: Optuna wraps driver errors) says the database
    cannot be reached now, rather than that a request was wrong."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(
            current,
            (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, StorageUnreachable),
        ):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
