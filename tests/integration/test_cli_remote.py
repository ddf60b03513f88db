"""``autorl submit`` / ``autorl status`` against a real ``autorl serve`` process over HTTP."""

from __future__ import annotations

import optuna
import pytest

from tests.integration.cli_helpers import free_port, run_cli, start_server

TOKEN = "test-token-0123456789"


@pytest.fixture
def api(tmp_path, sqlite_url, monkeypatch):
    monkeypatch.setenv("AUTORL_API_TOKEN", TOKEN)
    server, url = start_server(sqlite_url, tmp_path)
    yield url
    server.terminate()
    server.wait(timeout=30)


def test_submit_then_status(api, sqlite_url, capsys, tmp_path):
    submit = ["submit", "CartPole-v1", "--trials", "3", "--timesteps", "2000", "--study", "remote"]
    task = ["--env-attrs", '{"length": 0.7}', "--family", "cartpole-physics"]
    code, out, err = run_cli([*submit, *task, "--api", api], capsys)
    assert code == 0, err
    assert "submitted remote" in out and "0/3" in out
    study = optuna.load_study(study_name="remote", storage=sqlite_url)
    assert study.user_attrs["autorl.config"]["task"]["env_attrs"] == {"length": 0.7}

    code, out, err = run_cli(["status", "remote", "--api", api], capsys)
    assert code == 0 and "remote" in out and "open" in out and "0/3" in out
    code, out, _ = run_cli(["status", "--api", api, "--json"], capsys)
    assert code == 0 and '"id": "remote"' in out

    space = tmp_path / "space.yaml"
    space.write_text("algo: ppo\nparams: [oops\n")
    code, _, err = run_cli(["submit", "CartPole-v1", "--space", str(space), "--api", api], capsys)
    assert code == 2 and "not valid YAML" in err


def test_refusals_are_explained(api, capsys, monkeypatch):
    code, _, err = run_cli(["submit", "NoSuchEnv-v0", "--api", api], capsys)
    assert code == 2 and "422" in err and "NoSuchEnv-v0" in err
    code, _, err = run_cli(["submit", "CartPole-v1", "--api", api, "--token", "wrong"], capsys)
    assert code == 2 and "401" in err and "not valid" in err
    monkeypatch.delenv("AUTORL_API_TOKEN")
    code, _, err = run_cli(["submit", "CartPole-v1", "--api", api], capsys)
    assert code == 2 and "--token" in err
    code, _, err = run_cli(["status", "nope", "--api", api], capsys)
    assert code == 2 and "404" in err and "'nope'" in err


def test_an_unreachable_api_is_named(capsys):
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = run_cli(["status", "--api", url], capsys)
    assert code == 2 and f"cannot reach the autorl API at {url}" in err
