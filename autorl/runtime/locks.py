"""A per-study lock shared by every worker process, so a budget is never overshot.

SQLite: an exclusive ``flock`` on a file beside the database (all workers share one machine).
PostgreSQL: a session-level advisory lock keyed by the study name. Anything else: a
process-local lock (single-process use only).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import zlib
from collections.abc import Iterator
from functools import lru_cache

import sqlalchemy
from sqlalchemy.engine import Engine, make_url

from autorl.db.engine import new_engine
from autorl.study.storage import sqlite_path

_LOCAL = threading.Lock()


@lru_cache(maxsize=8)
def _pg_engine(url: str, pid: int) -> Engine:
    """This process's one-connection engine for the locks' sessions (``pid``: a forked child
    opens its own instead of sharing its parent's connection)."""
    return new_engine(url, pool_size=1, max_overflow=0)


def _lock_key(study_name: str) -> int:
    return zlib.crc32(f"autorl:{study_name}".encode())


@contextlib.contextmanager
def study_lock(storage_url: str, study_name: str) -> Iterator[None]:
    """Hold the study's lock for the body (claiming a trial slot, validating the best)."""
    path = sqlite_path(storage_url)
    backend = make_url(storage_url).get_backend_name()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{path}.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    elif backend == "postgresql":
        key = _lock_key(study_name)
        with _pg_engine(storage_url, os.getpid()).connect() as conn:
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
    else:
        with _LOCAL:
            yield
