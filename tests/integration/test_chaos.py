"""The short chaos run (``benchmarks/chaos/chaos.py``): two workers on PostgreSQL, one of them
SIGKILLed mid-trial, the API killed and restarted, a poison configuration that aborts every
process training it. The budget is met exactly, nothing finished is lost, nothing trained
twice without a recorded retry, every failure has its reason. (PostgreSQL's restart is in the
benchmark only: the suite's other connections would see it.)"""

from __future__ import annotations

import pytest

from benchmarks.chaos.chaos import ChaosPlan, run

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.slow]


def test_a_short_chaos_run_keeps_every_result(tmp_path):
    plan = ChaosPlan(
        workers=2,
        budget=4,
        timesteps=1000,
        kill_every_s=3.0,
        restart_postgres=False,
        restart_api=True,
        timeout_s=280.0,
    )
    result = run(plan, tmp_path)
    assert not result["timed_out"], result
    assert result["exact_budget"] and result["finished_trials_lost"] == 0, result
    assert result["unexplained_duplicates"] == 0, result
    assert result["failed_without_reason_or_requeue"] == 0, result
    assert result["workers_killed"] >= 1 and result["api_restarts"] == 1, result
    # the poison's death is seen: requeued, then crashed for good once its retries are spent
    # (a worker SIGKILLed while training it spends a retry too, so its last try may read
    # ``killed`` instead: the run of 2026-12-02 11:20 ended requeued 1, killed 4)
    outcomes = result["outcomes"]
    assert outcomes.get("crashed", 0) + outcomes.get("requeued", 0) >= 1, result
    assert result["crashed_not_poison"] == 0, result  # TPE may propose the poison again
