"""``autorl worker``: serves every study of a storage by priority, waits out database outages
(a killed peer on PostgreSQL: test_chaos.py)."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy
from optuna.trial import TrialState

from autorl.runtime import runner
from autorl.study.accounting import finished_count
from tests.conftest import ADMIN_URL
from tests.integration.cli_helpers import TINY, run_cli, spawn_cli, trials
from tests.integration.test_cli_workers import wait_for

pytestmark = pytest.mark.integration


def create(capsys, url, study, *extra):
    code, out, err = run_cli(
        ["tune", "CartPole-v1", "--study", study, "--no-run", "--storage", url, *TINY, *extra],
        capsys,
    )
    assert code == 0, err
    assert "ready for `autorl worker" in out


def test_a_worker_serves_every_study_by_priority_and_validates_the_finished(
    sqlite_url, capsys, monkeypatch
):
    create(capsys, sqlite_url, "low", "--trials", "2", "--validation-seeds", "0")
    create(
        capsys, sqlite_url, "high", "--trials", "2", "--priority", "5", "--validation-seeds", "1"
    )
    assert trials(sqlite_url, "low") == [] and trials(sqlite_url, "high") == []
    loaded: list[str] = []
    load_study = runner.load_study
    monkeypatch.setattr(
        runner, "load_study", lambda name, *a, **k: loaded.append(name) or load_study(name, *a, **k)
    )
    code, out, err = run_cli(["worker", "--exit-when-idle", "--storage", sqlite_url], capsys)
    assert code == 0, err
    assert "worker ran 4 trials" in out
    assert sorted(loaded) == ["high", "low"]  # each study set up once, not once per trial
    low, high = trials(sqlite_url, "low"), trials(sqlite_url, "high")
    assert finished_count(low) == finished_count(high) == 2
    assert max(t.datetime_start for t in high) < min(t.datetime_start for t in low)
    code, out, _ = run_cli(["studies", "--storage", sqlite_url], capsys)
    assert "high" in out and out.count("done") == 2
    code, out, _ = run_cli(["best", "high", "--storage", sqlite_url], capsys)
    assert '"validation": {' in out


def test_a_worker_runs_only_the_envs_it_may_import(sqlite_url, capsys, monkeypatch, caplog):
    # AUTORL_WORKER_ENTRY_POINTS: a storage others can write must not make workers import
    # anything: the study of an unlisted module is left alone (and intact), the rest runs
    code, _out, err = run_cli(
        [
            "tune",
            "Counting-v0",
            "--entry-point",
            "tests.fixtures.envs:CountingEnv",
            "--study",
            "custom",
            "--no-run",
            "--storage",
            sqlite_url,
            *TINY,
        ],
        capsys,
    )
    assert code == 0, err
    create(capsys, sqlite_url, "plain", "--trials", "1", "--validation-seeds", "0")
    monkeypatch.setenv("AUTORL_WORKER_ENTRY_POINTS", "none")
    code, _out, err = run_cli(["worker", "--exit-when-idle", "--storage", sqlite_url], capsys)
    assert code == 0, err
    assert "study 'custom' builds its env from 'tests.fixtures.envs:CountingEnv'" in caplog.text
    assert "AUTORL_WORKER_ENTRY_POINTS (none) does not allow" in caplog.text
    assert trials(sqlite_url, "custom") == [] and finished_count(trials(sqlite_url, "plain")) == 1
    monkeypatch.setenv("AUTORL_WORKER_ENTRY_POINTS", "tests.fixtures")
    code, _out, err = run_cli(
        ["worker", "--exit-when-idle", "--max-trials", "1", "--storage", sqlite_url], capsys
    )
    assert code == 0, err
    assert finished_count(trials(sqlite_url, "custom")) == 1


def _connections(admin_url: str, database: str, allow: bool) -> None:
    """Take a database away (refuse and cut every connection) or give it back."""
    engine = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        flag = "true" if allow else "false"
        conn.execute(sqlalchemy.text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {flag}'))
        if not allow:
            conn.execute(
                sqlalchemy.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"
                ),
                {"d": database},
            )
    engine.dispose()


@pytest.mark.postgres
def test_a_worker_waits_out_a_database_outage_and_finishes_the_budget(tmp_path, pg_url, capsys):
    create(capsys, pg_url, "outage", "--trials", "4", "--validation-seeds", "0")
    worker = spawn_cli(
        ["worker", "--exit-when-idle", "--poll", "0.5", "--storage", pg_url], tmp_path
    )
    database = pg_url.rsplit("/", 1)[1]
    try:
        wait_for(lambda: finished_count(trials(pg_url, "outage")) >= 1, 120, "a finished trial")
        before = {t.number: t.value for t in trials(pg_url, "outage") if t.value is not None}
        _connections(ADMIN_URL, database, allow=False)
        time.sleep(6)
        assert worker.poll() is None, worker.communicate()[1][-3000:]
    finally:
        _connections(ADMIN_URL, database, allow=True)
    _out, err = worker.communicate(timeout=300)
    assert worker.returncode == 0, err
    after = trials(pg_url, "outage")
    assert finished_count(after) == 4
    assert all(after[number].value == value for number, value in before.items())
    assert not [t for t in after if t.state in (TrialState.RUNNING, TrialState.WAITING)]


@pytest.mark.postgres
def test_a_worker_holds_a_handful_of_connections_however_many_trials_it_runs(
    tmp_path, pg_url, capsys
):
    """One engine per process and URL: the server's max_connections bounds the workers."""
    create(capsys, pg_url, "conns", "--trials", "3", "--validation-seeds", "0")
    admin = sqlalchemy.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    query = sqlalchemy.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d")
    database = pg_url.rsplit("/", 1)[1]
    samples = []
    with admin.connect() as conn:
        baseline = conn.execute(query, {"d": database}).scalar_one()  # this test's own
        worker = spawn_cli(["worker", "--exit-when-idle", "--storage", pg_url], tmp_path)
        while worker.poll() is None:
            samples.append(conn.execute(query, {"d": database}).scalar_one() - baseline)
            time.sleep(0.05)
    admin.dispose()
    assert worker.returncode == 0 and "worker ran 3 trials" in worker.communicate()[0]
    # Optuna's engine (the worker's and its heartbeat thread's), autorl's registry (the task's
    # features, read once per study) and the study lock: at most 4, whatever the trials
    assert 1 <= max(samples) <= 4


FIXED_PPO = {
    "n_envs": 8, "normalize_obs": False, "normalize_reward": False, "learning_rate": 3e-4,
    "lr_schedule": "constant", "n_steps": 64, "batch_size": 256, "n_epochs": 1,
    "one_minus_gamma": 0.01, "one_minus_gae_lambda": 0.05, "clip_range": 0.2, "ent_coef": 1e-6,
    "vf_coef": 0.5, "max_grad_norm": 0.5, "net_depth": 1, "net_width": 64, "activation": "tanh",
    "shared_trunk": False, "ortho_init": True,
}  # fmt: skip


@pytest.mark.postgres
def test_a_trial_that_trains_through_an_outage_is_stored_not_rerun(tmp_path, pg_url, capsys):
    # One cheap fixed configuration, evaluated often, so a 4 s outage falls on evaluations.
    queue = tmp_path / "fixed.json"
    queue.write_text(json.dumps([FIXED_PPO]))
    timing = ["--timesteps", "16000", "--evaluations", "40", "--eval-episodes", "1"]
    create(capsys, pg_url, "through", "--trials", "1", "--validation-seeds", "0",
           "--pruner", "none", "--enqueue", str(queue), *timing)  # fmt: skip
    worker = spawn_cli(["worker", "--exit-when-idle", "--storage", pg_url], tmp_path)
    database = pg_url.rsplit("/", 1)[1]
    try:
        wait_for(lambda: intermediate(pg_url, "through") >= 2, 120, "two evaluations")
        _connections(ADMIN_URL, database, allow=False)
        time.sleep(4)
    finally:
        _connections(ADMIN_URL, database, allow=True)
    _out, err = worker.communicate(timeout=300)
    assert worker.returncode == 0, err
    (trial,) = trials(pg_url, "through")
    assert trial.state == TrialState.COMPLETE, err
    assert "skipped: database unreachable" in err
    assert len(trial.intermediate_values) < 40  # those due in the outage: skipped, not waited for


def intermediate(url: str, name: str) -> int:
    found = trials(url, name)
    return len(found[0].intermediate_values) if found else 0
