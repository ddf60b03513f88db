"""One use case behind the CLI and the API: the same study asked through both is stored the
same, field by field; and the rules that drifted between them (budgets) are one rule."""

from __future__ import annotations

import warnings
from typing import Any

import optuna
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from autorl import service
from autorl.api import ApiSettings, create_app
from autorl.cli import main
from autorl.errors import UsageError
from autorl.knowledge.warmstart import WarmStartSettings
from autorl.types import TaskSpec

with warnings.catch_warnings():  # starlette wants httpx2; httpx still works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

TOKEN = "t0ken-for-tests"
BODY: dict[str, Any] = {
    "env_id": "CartPole-v1",
    "algo": "ppo",
    "trials": 4,
    "timesteps": 1000,
    "seeds": 2,
    "aggregate": "iqm",
    "evaluations": 3,
    "eval_episodes": 4,
    "pruner": "none",
    "validation_seeds": 2,
    "threshold": 300.0,
    "warm_start": "none",
    "priority": 3,
    "name": "same",
}
ARGS = ["tune", "CartPole-v1", "--algo", "ppo", "--trials", "4", "--timesteps", "1000"]
ARGS += ["--seeds", "2", "--aggregate", "iqm", "--evaluations", "3", "--eval-episodes", "4"]
ARGS += ["--pruner", "none", "--test-seeds", "2", "--threshold", "300", "--warm-start", "none"]
ARGS += ["--priority", "3", "--study", "same", "--no-run"]


def _attrs(url: str) -> dict[str, Any]:
    study = optuna.load_study(study_name="same", storage=url)
    return dict(study.user_attrs)


def test_the_same_study_through_the_cli_and_the_api_is_stored_the_same(tmp_path, capsys):
    by_cli, by_api = (f"sqlite:///{tmp_path / name}.db" for name in ("cli", "api"))
    assert main([*ARGS, "--storage", by_cli]) == 0
    capsys.readouterr()
    client = TestClient(create_app(ApiSettings(storage_url=by_api, token=TOKEN)))
    response = client.post("/v1/studies", json=BODY, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 201, response.text
    cli_attrs, api_attrs = _attrs(by_cli), _attrs(by_api)
    assert cli_attrs.keys() == api_attrs.keys()
    for key in cli_attrs:
        assert cli_attrs[key] == api_attrs[key], key
    assert cli_attrs["autorl.priority"] == 3


def _request(**changes: Any) -> service.TuneRequest:
    values: dict[str, Any] = {
        "task": TaskSpec(env_id="CartPole-v1"),
        "trials": 4,
        "timesteps": 1000,
        "seeds": 1,
        "warm_start": WarmStartSettings(mode="none"),
        "name": "s",
    }
    return service.TuneRequest(**{**values, **changes})


def test_a_budget_only_grows_whoever_asks(sqlite_url):
    assert service.submit(_request(trials=6), sqlite_url).budget == 6
    again = service.submit(_request(trials=2), sqlite_url)  # fewer: the stored budget stays
    assert not again.created and again.budget == 6
    assert service.submit(_request(trials=9), sqlite_url).budget == 9
    with pytest.raises(UsageError, match="can only grow"):
        service.resume("s", sqlite_url, 3)
    assert service.resume("s", sqlite_url, 12).budget == 12


def test_a_bad_request_is_refused_before_anything_is_stored(sqlite_url):
    with pytest.raises(UsageError, match="is for sac, but algo is ppo"):
        service.submit(_request(space="sac"), sqlite_url)
    with pytest.raises(UsageError, match="--seeds K"):
        service.submit(_request(max_seeds=3), sqlite_url)
    with pytest.raises(UsageError, match="--max-retries 11 must be between 0 and 10"):
        service.submit(_request(max_retries=11), sqlite_url)
    with pytest.raises(UsageError, match="--memory-limit 100 MB is too small"):
        service.submit(_request(memory_limit_mb=100), sqlite_url)
    with pytest.raises(UsageError, match="--max-concurrent 0 must be between 1 and 1000"):
        service.submit(_request(max_concurrent_trials=0), sqlite_url)
    assert optuna.get_all_study_summaries(storage=sqlite_url) == []


@pytest.mark.parametrize("operator", ["paused", "cancelled"])
def test_autorl_studies_and_the_api_agree_on_a_paused_or_cancelled_study(sqlite_url, operator):
    from autorl.api.store import set_operator_state
    from autorl.study.listing import list_studies
    from autorl.study.queries import summarize
    from autorl.study.storage import open_storage

    study = service.submit(_request(), sqlite_url).study
    set_operator_state(study, operator)
    client = TestClient(create_app(ApiSettings(storage_url=sqlite_url, token=TOKEN)))
    shown = client.get("/v1/studies/s", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    (row,) = list_studies(open_storage(sqlite_url))
    assert row.state == shown["state"] == summarize(study).state == operator
