"""Every environment variable is read in one place, and a bad one names itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from autorl.errors import AutoRLError
from autorl.settings import HeartbeatSettings, current, default_storage_url, seed_kb_dir, shipped


def test_defaults_and_values_from_a_mapping():
    assert current({}).heartbeat_grace == 60 and current({}).api_open_reads
    values = current(
        {
            "AUTORL_HEARTBEAT_INTERVAL": "5",
            "AUTORL_API_DEV": "yes",
            "AUTORL_API_ENTRY_POINTS": " a.b, c: ",
            "AUTORL_STORAGE": "",  # empty: unset
            "OTHER": "ignored",
        }
    )
    assert values.heartbeat_interval == 5 and values.api_dev
    assert values.entry_points == ["a.b", "c:"]
    assert values.storage_url == "sqlite:///storage/autorl.db"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AUTORL_HEARTBEAT_GRACE", "soon"),
        ("AUTORL_HEARTBEAT_INTERVAL", "0"),
        ("AUTORL_API_OPEN_READS", "maybe"),
        ("AUTORL_API_MAX_TRIALS", "-1"),
    ],
)
def test_a_bad_variable_is_named_in_the_error(name, value, monkeypatch):
    with pytest.raises(AutoRLError, match=name):
        current({name: value})
    monkeypatch.setenv(name, value)  # the same through the process environment
    with pytest.raises(AutoRLError, match=name):
        current()


def test_the_process_environment_is_read_when_asked(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTORL_HEARTBEAT_GRACE", "120")
    monkeypatch.setenv("AUTORL_STORAGE", "sqlite:///elsewhere.db")
    assert HeartbeatSettings.from_env().grace_s == 120
    assert default_storage_url() == "sqlite:///elsewhere.db"
    monkeypatch.setenv("AUTORL_SEED_KB", "none")
    assert seed_kb_dir() is None
    monkeypatch.setenv("AUTORL_SEED_KB", str(tmp_path))
    assert seed_kb_dir() == tmp_path
    monkeypatch.delenv("AUTORL_SEED_KB")
    assert seed_kb_dir() == shipped("storage/seed")


def test_a_secret_is_not_echoed_in_an_error():
    with pytest.raises(AutoRLError) as refused:
        current({"AUTORL_API_MAX_TRIALS": "s3cr3t-value"})
    assert "s3cr3t" not in str(refused.value)


def test_nothing_else_in_autorl_reads_the_environment():
    root = Path(__file__).resolve().parents[2] / "autorl"
    readers = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "settings.py"
        and ("os.environ" in path.read_text() or "getenv" in path.read_text())
    ]
    assert readers == []
