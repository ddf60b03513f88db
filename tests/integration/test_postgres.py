"""The same CLI against the PostgreSQL server (``.ci/run`` makes sure it is up)."""

from __future__ import annotations

import os
import uuid

import optuna
import pytest
import sqlalchemy

from autorl.search.accounting import finished_count
from tests.integration.cli_helpers import spawn_cli

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

ADMIN_URL = os.environ.get("AUTORL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_url():
    """A fresh database per test, dropped afterwards."""
    name = f"autorl_test_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    except sqlalchemy.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {ADMIN_URL} (start it: .ci/run does): {exc}")
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_two_workers_on_postgres_finish_the_budget_and_plain_optuna_reads_it(tmp_path, pg_url):
    proc = spawn_cli(
        [
            "tune",
            "CartPole-v1",
            "--trials",
            "4",
            "--jobs",
            "2",
            "--timesteps",
            "600",
            "--evaluations",
            "2",
            "--eval-episodes",
            "2",
            "--validation-seeds",
            "1",
            "--storage",
            pg_url,
            "--study",
            "pg",
            "--no-progress",
        ],
        tmp_path,
    )
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "validated on held-out seeds" in out
    study = optuna.load_study(study_name="pg", storage=pg_url)  # plain Optuna reads it
    trials = study.get_trials()
    assert finished_count(trials) == 4 and len(trials) == 4
    assert len({t.user_attrs["worker"] for t in trials}) == 2
    assert study.user_attrs["autorl.validation"]["train_seeds"] == [100000]
