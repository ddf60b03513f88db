"""Shared fixtures: a temporary SQLite storage and fast heartbeats; no test may leave a
signal handler of its own installed.

pytest puts the repository root on sys.path (``pythonpath``), so the test environments
import as entry points (``TaskSpec.entry_point="tests.fixtures.envs:CountingEnv"``).
"""

from __future__ import annotations

import signal

import pytest
import sqlalchemy

from benchmarks.pg import ADMIN_URL as PG_ADMIN_URL
from benchmarks.pg import drop_database, fresh_database


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'autorl.db'}"


@pytest.fixture(autouse=True)
def fast_heartbeat(monkeypatch):
    monkeypatch.setenv("AUTORL_HEARTBEAT_INTERVAL", "1")
    monkeypatch.setenv("AUTORL_HEARTBEAT_GRACE", "2")
    # Tests see only the history they create, not the shipped seed knowledge base.
    monkeypatch.setenv("AUTORL_SEED_KB", "none")


@pytest.fixture(autouse=True)
def signal_handlers_restored():
    """A test that installs a SIGINT or SIGTERM handler (a worker, a tune run) and does not put
    the previous one back breaks the tests after it (Ctrl-C handling, interrupts): the test
    that leaked it fails here, and the handler is restored for the rest of the suite."""
    watched = (signal.SIGINT, signal.SIGTERM)
    before = {s: signal.getsignal(s) for s in watched}
    yield
    leaked = {s: signal.getsignal(s) for s in watched if signal.getsignal(s) is not before[s]}
    for s in leaked:
        signal.signal(s, before[s])
    assert not leaked, f"the test left signal handlers installed: {leaked}"


ADMIN_URL = PG_ADMIN_URL  # AUTORL_TEST_PG, else the machine's ``test`` database


@pytest.fixture
def pg_url():
    """A fresh database per test, dropped afterwards."""
    try:
        url = fresh_database("autorl_test", ADMIN_URL)
    except sqlalchemy.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {ADMIN_URL} (start it: .ci/run does): {exc}")
    yield url
    drop_database(url, ADMIN_URL)
