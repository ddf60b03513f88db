"""The API token stays secret: a real ``autorl serve`` never puts it in a response, a log line
or a study's report, and a placeholder or short token stops it before it listens."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

import optuna
import pytest

from autorl.report import write_report
from autorl.spaces import load_space
from tests.integration.cli_helpers import ROOT, free_port, start_server

pytestmark = pytest.mark.integration

TOKEN = "s3cret-token-that-must-not-leak"
STUDY = {"env_id": "CartPole-v1", "algo": "ppo", "trials": 3, "timesteps": 1000, "name": "s"}


def call(url: str, method: str, path: str, token: str | None, body: Any = None) -> str:
    """The status line, headers and body of one request, as text."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return f"{response.status} {response.headers} {response.read().decode()}"
    except urllib.error.HTTPError as exc:
        return f"{exc.code} {exc.headers} {exc.read().decode()}"


def test_the_token_is_in_no_response_log_line_or_report(tmp_path, sqlite_url, monkeypatch):
    monkeypatch.setenv("AUTORL_API_TOKEN", TOKEN)
    monkeypatch.setenv("AUTORL_API_OPEN_READS", "0")
    server, url = start_server(sqlite_url, tmp_path, verbose=2)  # DEBUG logging
    try:
        answers = [
            call(url, "POST", "/v1/studies", TOKEN, STUDY),
            call(url, "POST", "/v1/studies", TOKEN, {**STUDY, "trials": 2, "timesteps": 2000}),
            call(url, "POST", "/v1/studies", TOKEN, {**STUDY, "env_id": "Nope-v0", "x": 1}),
            call(url, "POST", "/v1/studies", TOKEN + "x", STUDY),  # wrong token: not echoed
            call(url, "POST", "/v1/studies", None, STUDY),
            call(url, "GET", "/v1/studies/s", TOKEN),
            call(url, "GET", "/v1/studies/ghost/trials", TOKEN),
            call(url, "PATCH", "/v1/studies/s/budget", TOKEN, {"trials": 1}),
            call(url, "POST", "/v1/studies/s/pause", TOKEN),
            call(url, "GET", "/metrics", TOKEN),
            call(url, "DELETE", "/v1/studies", TOKEN),
        ]
    finally:
        server.terminate()
        logs = "".join(server.communicate(timeout=30))
    assert [a.split()[0] for a in answers] == [
        "201", "409", "422", "401", "401", "200", "404", "409", "200", "200", "405",
    ]  # fmt: skip
    for answer in answers:
        assert TOKEN not in answer, answer
    assert '"POST /v1/studies HTTP/1.1" 401' in logs  # the access log, without the token
    assert TOKEN not in logs

    study = optuna.load_study(study_name="s", storage=sqlite_url)
    trial = study.ask()
    load_space("ppo").sample(trial, "discrete")
    study.tell(trial, 42.0)
    page = write_report(study, tmp_path / "report.html").read_text()
    assert "CartPole-v1" in page and TOKEN not in page


@pytest.mark.parametrize("token", [None, "changeme", "0123456789a"])
def test_a_placeholder_or_short_token_stops_serve_before_it_listens(tmp_path, sqlite_url, token):
    env = {"PYTHONPATH": str(ROOT), "AUTORL_SEED_KB": "none"}
    env |= {} if token is None else {"AUTORL_API_TOKEN": token}
    args = ["serve", "--port", str(free_port()), "--storage", sqlite_url]
    result = subprocess.run(
        [sys.executable, "-m", "autorl.cli", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "AUTORL_API_TOKEN must be set to a secret of at least 12 characters" in result.stderr
    assert "AUTORL_API_DEV=1" in result.stderr and "serving" not in result.stdout
    if token:
        assert token not in result.stderr


def test_development_accepts_a_placeholder_token_and_says_so(tmp_path, sqlite_url, monkeypatch):
    monkeypatch.setenv("AUTORL_API_TOKEN", "change-me")
    monkeypatch.setenv("AUTORL_API_DEV", "1")
    server, url = start_server(sqlite_url, tmp_path)
    try:
        created = call(url, "POST", "/v1/studies", "change-me", STUDY)
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert created.startswith("201")
    assert "development mode (AUTORL_API_DEV): a placeholder or short token is accepted" in err
