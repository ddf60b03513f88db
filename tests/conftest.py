"""Shared fixtures: a temporary SQLite storage and fast heartbeats.

pytest puts the repository root on sys.path (``pythonpath``), so the test environments
import as entry points (``TaskSpec.entry_point="tests.fixtures.envs:CountingEnv"``).
"""

from __future__ import annotations

import pytest


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'autorl.db'}"


@pytest.fixture(autouse=True)
def fast_heartbeat(monkeypatch):
    monkeypatch.setenv("AUTORL_HEARTBEAT_INTERVAL", "1")
    monkeypatch.setenv("AUTORL_HEARTBEAT_GRACE", "2")
