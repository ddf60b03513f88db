"""The API process validates, stores and queues without importing torch or SB3."""

from __future__ import annotations

import textwrap

from tests.fixtures.processes import run_script

SCRIPT = textwrap.dedent(
    """
    import sys
    import warnings

    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

    from autorl.api import ApiSettings, create_app

    url, token = sys.argv[1], "t0ken-for-tests"
    client = TestClient(create_app(ApiSettings(storage_url=url, token=token)))
    auth = {"Authorization": f"Bearer {token}"}
    body = {"env_id": "CartPole-v1", "algo": "ppo", "trials": 2, "timesteps": 1000,
            "family": "cartpole"}
    created = client.post("/v1/studies", json=body, headers=auth)
    assert created.status_code == 201, created.text
    bad = client.post("/v1/studies", json={**body, "env_id": "Pendulum-v1", "algo": "dqn"},
                      headers=auth)
    assert bad.status_code == 422, bad.text
    for path in ("/v1/studies", "/v1/studies/CartPole-v1-ppo", "/v1/studies/CartPole-v1-ppo/trials",
                 "/v1/families", "/v1/families/cartpole/best", "/metrics", "/healthz"):
        assert client.get(path).status_code == 200, path
    assert client.post("/v1/studies/CartPole-v1-ppo/pause", headers=auth).status_code == 200
    heavy = sorted(m for m in ("torch", "stable_baselines3") if m in sys.modules)
    print("heavy modules:", heavy)
    sys.exit(1 if heavy else 0)
    """
)


def test_api_imports_neither_torch_nor_sb3(tmp_path):
    out = run_script(SCRIPT, f"sqlite:///{tmp_path / 'api.db'}", cwd=tmp_path, timeout=120)
    assert "heavy modules: []" in out
