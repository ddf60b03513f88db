"""Schemathesis against a real app on SQLite and PostgreSQL: the OpenAPI document tells the truth.

Every check of ``schemathesis run --checks all``, with the repository's ``schemathesis.toml``
(the one exception it states: a schema-valid submission may be refused with 422 for what only
the environment can say), plus one of ours: a request the schema allows is never refused by
request validation. In process (ASGI), a few examples per operation, derandomized.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from starlette.exceptions import StarletteDeprecationWarning

from autorl.api import ApiSettings, create_app

with warnings.catch_warnings():  # starlette wants httpx2; httpx still works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "t0ken-for-schemathesis"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
STUDY = {
    "env_id": "CartPole-v1",
    "algo": "ppo",
    "trials": 3,
    "timesteps": 1000,
    "family": "cartpole",
    "warm_start": "none",
}
FAST = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def validation_agrees_with_the_schema(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """A request generated within the schema is never refused as malformed (``validation``):
    the published patterns, bounds and limits are exactly what the server validates."""
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if positive and response.status_code == 422 and response.json().get("error") == "validation":
        raise AssertionError(
            f"the schema allows a request the server refuses: {response.json()['detail']}"
        )
    return None


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'api.db'}"
    return request.getfixturevalue("pg_url")


def load_schema(storage_url: str) -> schemathesis.BaseSchema:
    """The document of an app on ``storage_url`` (which it opens on its first storage read)."""
    app = create_app(ApiSettings(storage_url=storage_url, token=TOKEN))
    config = schemathesis.Config.from_path(ROOT / "schemathesis.toml")
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


@pytest.fixture
def api_app(storage_url: str) -> FastAPI:
    return create_app(ApiSettings(storage_url=storage_url, token=TOKEN))


# The document is the same on any storage: loaded once, from an app that never opens its own;
# each test case goes to the app of the storage under test.
schema = load_schema("sqlite://")


@schema.parametrize()
@FAST
def test_every_operation_keeps_its_contract(case: schemathesis.Case, api_app: FastAPI) -> None:
    case.call_and_validate(
        app=api_app, headers=AUTH, additional_checks=[validation_agrees_with_the_schema]
    )


def test_sequences_of_calls_keep_the_contract(storage_url: str) -> None:
    """Stateful: chains of calls (as schemathesis infers them from the document) on a stored
    study, which the listing leads to: it is read, paused, resumed, cancelled, its family read."""
    api = load_schema(storage_url)
    created = TestClient(api.app).post("/v1/studies", json=STUDY, headers=AUTH)
    assert created.status_code == 201, created.text

    class Workflow(api.as_state_machine()):
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": AUTH}

        def validate_response(
            self, response: schemathesis.Response, case: schemathesis.Case, **kwargs: Any
        ) -> None:
            kwargs.pop("additional_checks", None)
            super().validate_response(
                response, case, additional_checks=[validation_agrees_with_the_schema], **kwargs
            )

    run_state_machine_as_test(Workflow, settings=settings(FAST, stateful_step_count=6))
