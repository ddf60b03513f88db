"""The same CLI against the PostgreSQL server (``.ci/run`` makes sure it is up)."""

from __future__ import annotations

import optuna
import pytest

from autorl.study.accounting import best_trial, finished_count
from tests.integration.cli_helpers import spawn_cli

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


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
    assert "test on unseen seeds" in out
    study = optuna.load_study(study_name="pg", storage=pg_url)  # plain Optuna reads it
    trials = study.get_trials()
    assert finished_count(trials) == 4 and len(trials) == 4
    assert len({t.user_attrs["worker"] for t in trials}) == 2
    assert study.user_attrs["autorl.validation"]["train_seeds"] == [100000]
    # racing (the default) on two workers: each trial's seed runs once each, counted once
    for t in trials:
        seeds = t.user_attrs.get("seeds", [])
        assert [s["seed"] for s in seeds] == list(range(len(seeds)))
        trained = [s for s in seeds if "from_trial" not in s]  # a re-race takes over its first
        assert t.user_attrs.get("env_steps", 0) == sum(s["env_steps"] for s in trained)
    best = best_trial(trials)
    assert study.user_attrs["autorl.validation"]["trial"] == best.number
    assert len(best.user_attrs["seeds"]) == 3
