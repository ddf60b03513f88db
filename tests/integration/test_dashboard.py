"""The storage stays plain Optuna: ``optuna.load_study`` and optuna-dashboard read autorl's
studies on PostgreSQL (the dashboard through its own HTTP API, called in-process)."""

from __future__ import annotations

import json
import wsgiref.util

import optuna
import pytest
from optuna_dashboard import wsgi

from tests.integration.cli_helpers import TINY, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def _get(app, path: str) -> tuple[str, dict]:
    environ: dict = {}
    wsgiref.util.setup_testing_defaults(environ)
    environ.update(PATH_INFO=path, REQUEST_METHOD="GET")
    status = {}

    def start_response(code, _headers, _exc_info=None):
        status["code"] = code

    body = b"".join(app(environ, start_response))
    return status["code"], json.loads(body)


def test_optuna_and_optuna_dashboard_read_an_autorl_study(pg_url, capsys):
    args = ["tune", "CartPole-v1", "--study", "plain", "--trials", "2", "--storage", pg_url]
    code, _, err = run_cli([*args, "--validation-seeds", "0", *TINY], capsys)
    assert code == 0, err

    study = optuna.load_study(study_name="plain", storage=pg_url)
    assert len(study.trials) == 2 and study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert "learning_rate" in study.trials[0].params

    app = wsgi(pg_url)
    status, listing = _get(app, "/api/studies")
    assert status.startswith("200")
    (summary,) = [s for s in listing["study_summaries"] if s["study_name"] == "plain"]
    status, detail = _get(app, f"/api/studies/{summary['study_id']}")
    assert status.startswith("200") and len(detail["trials"]) == 2
    assert {p["name"] for p in detail["trials"][0]["params"]} == set(study.trials[0].params)
