"""``autorl worker``: serves every study of a storage by priority, survives a killed peer."""

from __future__ import annotations

import signal

import pytest
from optuna.trial import TrialState

from autorl.search.accounting import finished_count
from tests.integration.cli_helpers import TINY, run_cli, spawn_cli, trials
from tests.integration.test_cli_workers import running, wait_for

pytestmark = pytest.mark.integration


def create(capsys, url, study, *extra):
    code, out, err = run_cli(
        ["tune", "CartPole-v1", "--study", study, "--no-run", "--storage", url, *TINY, *extra],
        capsys,
    )
    assert code == 0, err
    assert "ready for `autorl worker" in out


def test_a_worker_serves_every_study_by_priority_and_validates_the_finished(sqlite_url, capsys):
    create(capsys, sqlite_url, "low", "--trials", "2", "--validation-seeds", "0")
    create(
        capsys, sqlite_url, "high", "--trials", "2", "--priority", "5", "--validation-seeds", "1"
    )
    assert trials(sqlite_url, "low") == [] and trials(sqlite_url, "high") == []
    code, out, err = run_cli(["worker", "--exit-when-idle", "--storage", sqlite_url], capsys)
    assert code == 0, err
    assert "worker ran 4 trials" in out
    low, high = trials(sqlite_url, "low"), trials(sqlite_url, "high")
    assert finished_count(low) == finished_count(high) == 2
    assert max(t.datetime_start for t in high) < min(t.datetime_start for t in low)
    code, out, _ = run_cli(["studies", "--storage", sqlite_url], capsys)
    assert "high" in out and out.count("done") == 2
    code, out, _ = run_cli(["best", "high", "--storage", sqlite_url], capsys)
    assert '"validation": {' in out


@pytest.mark.postgres
def test_three_workers_on_postgres_finish_exactly_and_a_killed_one_is_replaced(
    tmp_path, pg_url, capsys
):
    create(capsys, pg_url, "pg", "--trials", "4", "--validation-seeds", "0", "--timesteps", "3000")
    victim = spawn_cli(["worker", "--storage", pg_url], tmp_path)
    try:
        wait_for(lambda: running(pg_url, "pg") or victim.poll() is not None, 120, "a trial")
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    finally:
        if victim.poll() is None:
            victim.kill()
    (killed,) = running(pg_url, "pg")
    workers = [
        spawn_cli(["worker", "--exit-when-idle", "--storage", pg_url], tmp_path) for _ in range(3)
    ]
    for proc in workers:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    after = trials(pg_url, "pg")
    assert finished_count(after) == 4
    assert after[killed.number].state == TrialState.FAIL
    retried = [t for t in after if t.user_attrs.get("requeued_from") == killed.number]
    assert len(retried) == 1 and retried[0].state in (TrialState.COMPLETE, TrialState.PRUNED)
    assert not [t for t in after if t.state in (TrialState.RUNNING, TrialState.WAITING)]
