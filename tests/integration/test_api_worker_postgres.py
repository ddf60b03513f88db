"""A study submitted through the API on PostgreSQL is run to the end by `autorl worker`."""

from __future__ import annotations

import warnings

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from autorl.api import ApiSettings, create_app
from tests.integration.cli_helpers import spawn_cli

with warnings.catch_warnings():  # starlette wants httpx2; httpx still works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

TOKEN = "t0ken-for-tests"


def test_api_submits_and_a_worker_finishes_the_study(tmp_path, pg_url):
    client = TestClient(create_app(ApiSettings(storage_url=pg_url, token=TOKEN)))
    body = {
        "env_id": "CartPole-v1",
        "algo": "ppo",
        "trials": 2,
        "timesteps": 600,
        "evaluations": 2,
        "eval_episodes": 2,
        "validation_seeds": 0,
        "name": "api-pg",
    }
    created = client.post("/v1/studies", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert created.status_code == 201, created.text
    assert created.json()["state"] == "open"

    worker = spawn_cli(
        ["worker", "--exit-when-idle", "--threads", "1", "--storage", pg_url], tmp_path
    )
    try:
        out, err = worker.communicate(timeout=240)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err
    assert "worker ran 2 trials" in out

    study = client.get("/v1/studies/api-pg").json()
    assert study["state"] == "done" and study["trials_done"] == 2 and study["running"] == 0
    assert study["best"] is not None
    trials = client.get("/v1/studies/api-pg/trials").json()
    assert trials["count"] == 2
    assert all(t["env_steps"] and t["wall_s"] for t in trials["data"] if t["state"] == "complete")
    metrics = client.get("/metrics").text
    assert 'autorl_trials_total{state="finished"} 2' in metrics
    assert "autorl_queue_depth 0" in metrics
