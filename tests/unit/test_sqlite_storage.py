"""A SQLite storage as workers use it: WAL, no fsync per commit, nothing committed is lost
when the process is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import optuna
import sqlalchemy as sa

from autorl.db.engine import get_engine
from autorl.study.storage import open_storage

WRITER = """
import sys, optuna
from autorl.study.storage import open_storage
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.create_study(study_name="s", storage=open_storage(sys.argv[1]))
trial = study.ask()
for i in range(100000):
    trial.set_user_attr(f"k{i}", i)  # one transaction each, as Optuna writes
    print(i, flush=True)
"""


def _pragmas(engine: sa.Engine) -> tuple[str, int]:
    with engine.connect() as conn:
        mode = conn.execute(sa.text("PRAGMA journal_mode")).scalar()
        return str(mode).lower(), conn.execute(sa.text("PRAGMA synchronous")).scalar()


def test_optunas_and_autorls_connections_are_wal_without_an_fsync_per_commit(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert _pragmas(open_storage(url).engine) == ("wal", 1)  # 1: NORMAL
    assert _pragmas(get_engine(url)) == ("wal", 1)


def test_a_killed_writer_loses_no_committed_write(tmp_path):
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, url], stdout=subprocess.PIPE, text=True
    )
    last = -1
    deadline = time.monotonic() + 60
    while last < 200 and time.monotonic() < deadline:
        last = int(writer.stdout.readline())
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    assert last >= 200
    (trial,) = optuna.load_study(study_name="s", storage=url).trials
    stored = trial.user_attrs
    assert all(stored[f"k{i}"] == i for i in range(last + 1))  # everything it had committed
