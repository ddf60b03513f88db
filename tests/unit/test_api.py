"""The HTTP API through FastAPI's TestClient on a SQLite storage (no training, no worker)."""

from __future__ import annotations

import time
import warnings
from typing import Any

import optuna
import pytest
from pydantic import ValidationError
from starlette.exceptions import StarletteDeprecationWarning

from autorl.api import ApiSettings, create_app
from autorl.errors import AutoRLError
from autorl.spaces import load_space
from autorl.types import module_allowed

with warnings.catch_warnings():  # starlette wants httpx2; httpx still works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

TOKEN = "t0ken-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CARTPOLE: dict[str, Any] = {
    "env_id": "CartPole-v1",
    "algo": "ppo",
    "trials": 3,
    "timesteps": 1000,
    "warm_start": "none",
}


def client_for(url: str, **settings: Any) -> TestClient:
    return TestClient(create_app(ApiSettings(storage_url=url, token=TOKEN, **settings)))


@pytest.fixture
def client(sqlite_url) -> TestClient:
    return client_for(sqlite_url)


def stored(url: str) -> int:
    return len(optuna.get_all_study_summaries(storage=url, include_best_trial=False))


def create(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/studies", json={**CARTPOLE, **body}, headers=AUTH)
    assert response.status_code == 201, response.text
    return response.json()


def add_completed_trials(url: str, name: str, values: list[float]) -> None:
    """Trials as if a worker had run them: sampled from the space, scored ``values``."""
    study = optuna.load_study(study_name=name, storage=url)
    space = load_space("ppo")
    for value in values:
        trial = study.ask()
        space.sample(trial, "discrete")
        trial.set_user_attr("config", {"algo": "ppo", "policy": "MlpPolicy", "sb3_kwargs": {}})
        study.tell(trial, value)


# --- studies: create, read, control ---------------------------------------------------------


def test_create_list_get_and_continue(client, sqlite_url):
    study = create(client)
    assert study["id"] == "CartPole-v1-ppo"
    assert study["state"] == "open" and study["budget"] == 3 and study["trials_done"] == 0
    assert study["best"] is None and study["failures"] == {} and study["priority"] == 0

    listed = client.get("/v1/studies").json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == "CartPole-v1-ppo"
    assert client.get("/v1/studies/CartPole-v1-ppo").json() == study
    assert client.get("/v1/studies/CartPole-v1-ppo/trials").json() == {"data": [], "count": 0}

    # The same settings again continue the study: 200, and the budget never shrinks.
    again = client.post("/v1/studies", json={**CARTPOLE, "trials": 2}, headers=AUTH)
    assert again.status_code == 200 and again.json()["budget"] == 3
    more = client.post("/v1/studies", json={**CARTPOLE, "trials": 5, "priority": 2}, headers=AUTH)
    assert more.status_code == 200 and more.json()["budget"] == 5
    assert more.json()["priority"] == 2
    assert stored(sqlite_url) == 1


def test_racing_fields_study_and_trials(client, sqlite_url):
    study = create(client, max_seeds=3, aggregate="iqm", threshold=475, finalists=2)
    assert study["seeds"] == {
        "racing": True,
        "min_seeds": 3,
        "max_seeds": 3,
        "aggregate": "iqm",
        "finalists": 2,
        "final_seeds": 3,
    }
    assert study["test"] is None and study["final"] is None
    store = optuna.load_study(study_name="CartPole-v1-ppo", storage=sqlite_url)
    space = load_space("ppo")
    for scores, selectable in (([500.0, 480.0, 490.0], True), ([510.0], False)):
        trial = store.ask()
        space.sample(trial, "discrete")
        trial.set_user_attr("config", {"algo": "ppo", "policy": "MlpPolicy", "sb3_kwargs": {}})
        trial.set_user_attr("seed_scores", scores)
        trial.set_user_attr("selectable", selectable)
        store.tell(trial, sum(scores) / len(scores))
    store.set_user_attr(
        "autorl.validation",
        {"trial": 0, "selection_score": 490.0, "selection_seeds": [0, 1, 2], "aggregate": "iqm",
         "score": 470.0, "mean": 465.0, "std": 10.0, "ci95": [450.0, 480.0], "worst": 440.0,
         "scores": [470.0, 440.0, 480.0, 470.0, None], "train_seeds": [100000, 100001, 100002,
         100003, 100004], "eval_seed": 200000, "episodes": 20, "threshold": 475.0,
         "solved_fraction": 0.2},
    )  # fmt: skip
    got = client.get("/v1/studies/CartPole-v1-ppo").json()
    assert got["best"] == 490.0  # the one-seed 510 cannot be the best
    test = got["test"]
    assert test["selection_score"] == 490.0 and test["score"] == 470.0
    assert test["scores"][-1] is None and test["test_seeds"][0] == 100000
    assert test["solved_fraction"] == 0.2 and test["threshold"] == 475.0
    store.set_user_attr(
        "autorl.final",
        {"chosen": 0, "aggregate": "iqm", "seeds": [50000, 50001, 50002], "episodes": 20,
         "eval_seed": 300000, "eval_seed_step": 20, "env_steps": 3000,
         "finalists": [{"trial": 0, "selection_score": 490.0, "train_scores": [500.0, 480.0,
                        490.0], "final_scores": [470.0, None, 480.0], "score": 480.0}]},
    )  # fmt: skip
    final = client.get("/v1/studies/CartPole-v1-ppo").json()["final"]
    assert final["chosen"] == 0 and final["finalists"][0]["final_scores"][1] is None
    assert final["seeds"][0] == 50000 and final["first_episode_seed"] == 300000
    page = client.get("/v1/studies/CartPole-v1-ppo/trials").json()["data"]
    assert [t["seed_scores"] for t in page] == [[500.0, 480.0, 490.0], [510.0]]
    assert [t["selectable"] for t in page] == [True, False]


def test_a_study_submitted_for_return_and_size_serves_its_front(client, sqlite_url):
    create(client, objectives="return,params", name="sized")
    store = optuna.load_study(study_name="sized", storage=sqlite_url)
    space = load_space("ppo")
    for value, params in ((480.0, 9000), (450.0, 50), (400.0, 20_000)):
        trial = store.ask()
        space.sample(trial, "discrete")
        trial.set_user_attr("config", {"algo": "ppo", "policy": "MlpPolicy", "sb3_kwargs": {}})
        trial.set_user_attr("policy_params", params)
        trial.set_user_attr("latency_us", 80.0)
        store.tell(trial, value)
    front = client.get("/v1/studies/sized/front").json()
    assert front["objective"] == "params"
    assert [(p["trial"], p["params"]) for p in front["points"]] == [(1, 50), (0, 9000)]
    page = client.get("/v1/studies/sized/trials").json()["data"]
    assert [t["policy_params"] for t in page] == [9000, 50, 20_000]
    create(client)  # tuned for return alone: no front, and the answer says what to do
    response = client.get("/v1/studies/CartPole-v1-ppo/front")
    assert response.status_code == 409 and "--objectives return,params" in response.text


def test_an_old_study_record_reads_with_the_new_fields(client, sqlite_url):
    create(client, seeds=1)
    store = optuna.load_study(study_name="CartPole-v1-ppo", storage=sqlite_url)
    add_completed_trials(sqlite_url, "CartPole-v1-ppo", [100.0])
    store.set_user_attr(
        "autorl.validation",
        {"trial": 0, "tuning_score": 100.0, "mean": 90.0, "std": 1.0, "scores": [89.0, 91.0],
         "train_seeds": [100000, 100001], "eval_seed": 200000, "episodes": 20},
    )  # fmt: skip
    got = client.get("/v1/studies/CartPole-v1-ppo").json()
    assert got["seeds"]["racing"] is False and got["best"] == 100.0
    assert got["test"]["selection_score"] == 100.0 and got["test"]["score"] == 90.0
    assert got["test"]["threshold"] is None and got["validated_best"] == 90.0
    page = client.get("/v1/studies/CartPole-v1-ppo/trials").json()["data"]
    assert page[0]["selectable"] is True and page[0]["seed_scores"] == []


def test_default_name_of_a_custom_task_carries_its_key(client):
    study = create(client, env_attrs={"length": 0.6})
    assert study["id"].startswith("CartPole-v1-ppo-") and len(study["id"]) == 24


def test_same_name_other_settings_is_a_conflict(client, sqlite_url):
    create(client, name="mine")
    response = client.post(
        "/v1/studies", json={**CARTPOLE, "name": "mine", "timesteps": 2000}, headers=AUTH
    )
    assert response.status_code == 409
    assert "already exists with other settings" in response.json()["detail"]
    assert "timesteps" in response.json()["detail"]


def test_pause_resume_cancel(client):
    create(client)
    path = "/v1/studies/CartPole-v1-ppo"
    assert client.post(f"{path}/pause", headers=AUTH).json()["state"] == "paused"
    assert client.get(path).json()["state"] == "paused"
    assert client.post(f"{path}/resume", headers=AUTH).json()["state"] == "open"
    assert client.post(f"{path}/cancel", headers=AUTH).json()["state"] == "cancelled"
    for action in ("resume", "pause"):
        response = client.post(f"{path}/{action}", headers=AUTH)
        assert response.status_code == 409 and "cancelled" in response.json()["detail"]
    refused = client.patch(f"{path}/budget", json={"trials": 9}, headers=AUTH)
    assert refused.status_code == 409
    resubmitted = client.post("/v1/studies", json=CARTPOLE, headers=AUTH)
    assert resubmitted.status_code == 409 and "another name" in resubmitted.json()["detail"]


def test_budget_grows_never_shrinks(client):
    create(client)
    path = "/v1/studies/CartPole-v1-ppo/budget"
    assert client.patch(path, json={"trials": 3}, headers=AUTH).json()["budget"] == 3
    assert client.patch(path, json={"trials": 8}, headers=AUTH).json()["budget"] == 8
    shrink = client.patch(path, json={"trials": 4}, headers=AUTH)
    assert shrink.status_code == 409 and "only grow" in shrink.json()["detail"]
    over = client.patch(path, json={"trials": 20_000}, headers=AUTH)
    assert over.status_code == 422 and "AUTORL_API_MAX_TRIALS" in over.json()["detail"]
    zero = client.patch(path, json={"trials": 0}, headers=AUTH)
    assert zero.status_code == 422 and "trials" in zero.json()["detail"]
    assert client.get("/v1/studies/CartPole-v1-ppo").json()["budget"] == 8


def test_warm_start_queues_trials_and_family_best(client, sqlite_url):
    first = create(client, family="cartpole-physics", name="short")
    add_completed_trials(sqlite_url, "short", [20.0, 90.0, 50.0])
    assert client.get("/v1/studies/short").json()["best"] == 90.0

    second = create(
        client,
        family="cartpole-physics",
        env_attrs={"length": 0.6},
        name="long",
        trials=6,
        warm_start="auto",
        warm_start_trials=2,
    )
    assert first["warm_start"] == [] and len(second["warm_start"]) == 2
    page = client.get("/v1/studies/long/trials").json()
    assert page["count"] == 2
    assert [t["state"] for t in page["data"]] == ["waiting", "waiting"]
    assert all(t["source"].startswith("warm_start:") and t["params"] for t in page["data"])
    assert client.get("/v1/studies/long/trials?offset=1&limit=1").json()["data"] == page["data"][1:]
    limit = client.get("/v1/studies/long/trials?limit=0")
    assert limit.status_code == 422 and "limit" in limit.json()["detail"]

    families = client.get("/v1/families").json()
    assert families == {"data": [{"name": "cartpole-physics", "tasks": 2}], "count": 1}
    best = client.get("/v1/families/cartpole-physics/best?algorithm=ppo").json()
    assert best["family"] == "cartpole-physics" and best["algo"] == "ppo"
    assert best["tasks"]["short"]["score"] == 90.0

    text = client.get("/metrics").text
    assert 'autorl_trials_total{state="finished"} 3' in text
    assert 'autorl_trials_total{state="running"} 0' in text
    assert "autorl_queue_depth 2" in text


def test_family_best_is_cached_and_refreshed_when_a_trial_finishes(client, sqlite_url):
    create(client, family="cartpole-physics", name="short")
    add_completed_trials(sqlite_url, "short", [20.0, 90.0])
    path = "/v1/families/cartpole-physics/best"
    first = client.get(path).json()
    assert first["stale"] is False and first["tasks"]["short"]["score"] == 90.0
    assert client.get(path).json() == first  # unchanged data: the cached answer

    add_completed_trials(sqlite_url, "short", [95.0])
    served = client.get(path).json()  # at once: the previous answer, marked stale
    assert served["stale"] is True and served["tasks"]["short"]["score"] == 90.0
    deadline = time.monotonic() + 30
    while (fresh := client.get(path).json())["stale"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert fresh["stale"] is False and fresh["tasks"]["short"]["score"] == 95.0
    assert fresh["as_of"] >= first["as_of"]


def test_family_without_results_and_unknown_family(client):
    create(client, family="fresh")
    best = client.get("/v1/families/fresh/best")
    assert best.status_code == 200
    expected = {"family": "fresh", "algo": "ppo", "tasks": {}, "recommended": None, "stale": False}
    assert best.json() == expected
    assert client.get("/v1/families/fresh/best?algorithm=a2c").status_code == 404
    unknown = client.get("/v1/families/nope/best")
    assert unknown.status_code == 404 and "'nope'" in unknown.json()["detail"]


def test_a_family_tuned_with_two_algorithms_asks_for_one(client):
    create(client, family="mixed", name="with-ppo")
    create(client, family="mixed", name="with-a2c", algo="a2c")
    both = client.get("/v1/families/mixed/best")
    assert both.status_code == 409 and "a2c, ppo" in both.json()["detail"]
    assert "algorithm" in both.json()["detail"]
    assert client.get("/v1/families/mixed/best?algorithm=a2c").status_code == 200


def test_metrics_and_health_on_an_empty_storage(client):
    assert client.get("/healthz").json() == {"status": "ok", "storage": True}
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert "# TYPE autorl_trials_total gauge" in response.text
    assert "autorl_queue_depth 0" in response.text
    paths = client.get("/openapi.json").json()["paths"]
    expected = {"/v1/studies", "/v1/studies/{study_id}/budget", "/v1/families/{name}/best"}
    assert expected <= set(paths)


def test_health_reports_an_unreachable_storage():
    app = client_for("postgresql://nobody@127.0.0.1:1/none")
    assert app.get("/healthz").json() == {"status": "ok", "storage": False}


# --- authentication ---------------------------------------------------------------------------


def test_writes_need_the_token(client, sqlite_url):
    missing = client.post("/v1/studies", json=CARTPOLE)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"] == "unauthorized"
    wrong = client.post("/v1/studies", json=CARTPOLE, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "not valid" in wrong.json()["detail"]
    assert client.post("/v1/studies/x/cancel").status_code == 401
    assert client.patch("/v1/studies/x/budget", json={"trials": 3}).status_code == 401
    assert client.get("/v1/studies").status_code == 200  # reads are open by default
    assert stored(sqlite_url) == 0


def _secured(client: TestClient) -> set[str]:
    paths = client.get("/openapi.json").json()["paths"]
    return {
        f"{m.upper()} {p}" for p, ops in paths.items() for m, op in ops.items() if "security" in op
    }


def test_the_openapi_document_declares_what_is_enforced(sqlite_url):
    writes = {"POST /v1/studies", "PATCH /v1/studies/{study_id}/budget"} | {
        f"POST /v1/studies/{{study_id}}/{action}" for action in ("pause", "resume", "cancel")
    }
    reads = {
        "GET /v1/studies",
        "GET /v1/studies/{study_id}",
        "GET /v1/studies/{study_id}/trials",
        "GET /v1/studies/{study_id}/front",
    }
    reads |= {"GET /v1/families", "GET /v1/families/{name}/best", "GET /metrics"}
    assert _secured(client_for(sqlite_url)) == writes  # reads are open: no security declared
    assert _secured(client_for(sqlite_url, open_reads=False)) == writes | reads
    assert _secured(TestClient(create_app(ApiSettings(storage_url=sqlite_url, dev=True)))) == set()

    client = client_for(sqlite_url, max_trials=40, max_timesteps=50_000)
    document = client.get("/openapi.json").json()
    models = document["components"]["schemas"]
    assert "HTTPValidationError" not in models  # FastAPI's model, which this API never sends
    assert models["StudyCreate"]["properties"]["trials"]["maximum"] == 40  # the server's limits
    assert models["StudyCreate"]["properties"]["timesteps"]["maximum"] == 50_000
    assert models["BudgetUpdate"]["properties"]["trials"]["maximum"] == 40
    refusal = document["paths"]["/v1/studies/{study_id}"]["get"]["responses"]["404"]
    assert refusal["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert client.get("/v1/studies/ghost").json()["error"] == "NotFound"
    not_allowed = client.delete("/v1/studies")
    assert not_allowed.status_code == 405 and not_allowed.headers["allow"] == "GET, POST"
    assert not_allowed.json()["error"] == "method_not_allowed"


def test_the_api_takes_json_only_no_uploads(client):
    """No route accepts a file or a form (model files are pickles: the API never takes one)."""
    paths = client.get("/openapi.json").json()["paths"]
    media = {
        kind
        for operations in paths.values()
        for operation in operations.values()
        for kind in operation.get("requestBody", {}).get("content", {})
    }
    assert media == {"application/json"}


def test_reads_closed_when_not_open(sqlite_url):
    client = client_for(sqlite_url, open_reads=False)
    for path in ("/v1/studies", "/v1/families", "/metrics", "/v1/studies/x"):
        assert client.get(path).status_code == 401, path
    assert client.get("/v1/studies", headers=AUTH).status_code == 200
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("token", [None, "", "change-me", "changeme", "short"])
def test_settings_refuse_placeholder_tokens(token):
    with pytest.raises(ValidationError, match="AUTORL_API_TOKEN") as refused:
        ApiSettings(storage_url="sqlite://", token=token)
    assert "input_value" not in str(refused.value)  # the token is never echoed
    assert ApiSettings(storage_url="sqlite://", token=token, dev=True).dev


def test_dev_without_token_leaves_writes_open(sqlite_url):
    client = TestClient(create_app(ApiSettings(storage_url=sqlite_url, dev=True)))
    assert client.post("/v1/studies", json=CARTPOLE).status_code == 201


def test_settings_from_env():
    settings = ApiSettings.from_env(
        {
            "AUTORL_STORAGE": "sqlite:///x.db",
            "AUTORL_API_TOKEN": TOKEN,
            "AUTORL_API_OPEN_READS": "false",
            "AUTORL_API_MAX_TIMESTEPS": "50_000",
            "AUTORL_API_MAX_TRIALS": "40",
            "AUTORL_API_MAX_CONCURRENT_STUDIES": "2",
            "AUTORL_API_ENTRY_POINTS": "tests.fixtures, mypkg.envs:",
        }
    )
    assert settings.storage_url == "sqlite:///x.db" and settings.token_value == TOKEN
    assert not settings.open_reads
    assert (settings.max_timesteps, settings.max_trials, settings.max_concurrent_studies) == (
        50_000,
        40,
        2,
    )
    assert settings.allowed_entry_points == ["tests.fixtures", "mypkg.envs:"]
    assert "t0ken" not in repr(settings)
    override = ApiSettings.from_env({"AUTORL_API_TOKEN": TOKEN}, storage_url="sqlite:///y.db")
    assert override.storage_url == "sqlite:///y.db" and override.open_reads
    for name, value in (("AUTORL_API_MAX_TRIALS", "many"), ("AUTORL_API_MAX_TRIALS", "0")):
        with pytest.raises(AutoRLError, match=name):
            ApiSettings.from_env({"AUTORL_API_TOKEN": TOKEN, name: value})
    with pytest.raises(AutoRLError, match="AUTORL_API_TOKEN"):
        ApiSettings.from_env({"AUTORL_API_TOKEN": "change-me"})


# --- bad input: a 4xx with a useful message, and nothing stored -------------------------------

BAD_SPACE = {"algo": "ppo", "params": {"learning_rate": {"type": "float", "low": -1, "high": 1}}}
BAD_SPACE["params"]["learning_rate"]["log"] = True

BAD_BODIES = [
    ({"surprise": 1}, 422, "surprise: unknown field"),
    ({"env_id": "CartPol-v1"}, 422, "Did you mean 'CartPole-v1'"),
    ({"entry_point": "os:system"}, 422, "AUTORL_API_ENTRY_POINTS"),
    ({"env_id": "os:Evil-v0"}, 422, "AUTORL_API_ENTRY_POINTS"),
    ({"trials": -1}, 422, "trials: Input should be greater than or equal to 1"),
    ({"trials": 10**9}, 422, "trials"),
    ({"trials": 20_000}, 422, "AUTORL_API_MAX_TRIALS"),
    ({"timesteps": -5}, 422, "timesteps: Input should be greater than or equal to 100"),
    ({"timesteps": 10**8}, 422, "AUTORL_API_MAX_TIMESTEPS"),
    ({"timesteps": "lots"}, 422, "timesteps"),
    ({"evaluations": 2000, "timesteps": 1000}, 422, "evaluations"),
    ({"space_inline": BAD_SPACE}, 422, "space_inline: params.learning_rate.low"),
    ({"space_inline": {"algo": "ppo"}}, 422, "space_inline"),
    ({"space": "ppo", "space_inline": BAD_SPACE}, 422, "not both"),
    ({"space": "../../pyproject"}, 422, "not a shipped search space"),
    ({"space": "sac"}, 422, "is for sac, but algo is ppo"),
    ({"env_id": "Pendulum-v1", "algo": "dqn"}, 422, "DQN needs a Discrete action space"),
    ({"algo": "xyz"}, 422, "algo"),
    ({"name": "a/b"}, 422, "name"),
    ({"name": ".."}, 422, "name: String should match pattern"),
    ({"env_id": "Cart\nPole-v1"}, 422, "env_id: String should match pattern"),
    ({"entry_point": "os.system"}, 422, "entry_point: String should match pattern"),
    ({"family": " padded "}, 422, "family"),
    ({"env_kwargs": {"no_such_kwarg": 1}}, 422, "no_such_kwarg"),
    ({"env_attrs": {"no_such_attr": 1}}, 422, "no_such_attr"),
    ({"pruner": "sometimes"}, 422, "pruner"),
]


@pytest.mark.parametrize(("change", "status", "says"), BAD_BODIES)
def test_bad_input_is_refused_and_nothing_is_stored(client, sqlite_url, change, status, says):
    """Each bad body, aimed at a stored study's name (a continuation of it), is refused and
    leaves that study exactly as it was, and stores nothing else."""
    create(client, name="existing")

    def existing() -> tuple:
        study = optuna.load_study(study_name="existing", storage=sqlite_url)
        return study.user_attrs, [(t.number, t.state, t.params) for t in study.trials]

    before, shown = existing(), client.get("/v1/studies/existing").json()
    body = {**CARTPOLE, "name": "existing", **change}
    response = client.post("/v1/studies", json=body, headers=AUTH)
    assert response.status_code == status, response.text
    assert says in response.json()["detail"]
    assert stored(sqlite_url) == 1
    assert existing() == before
    assert client.get("/v1/studies/existing").json() == shown


def test_malformed_json_and_missing_fields(client, sqlite_url):
    headers = {**AUTH, "Content-Type": "application/json"}
    broken = client.post("/v1/studies", content="{not json", headers=headers)
    assert broken.status_code == 422 and "not valid JSON" in broken.json()["detail"]
    missing = client.post("/v1/studies", json={"env_id": "CartPole-v1"}, headers=AUTH)
    assert missing.status_code == 422
    assert {"algo: Field required", "trials: Field required"} <= set(missing.json()["problems"])
    assert client.post("/v1/studies", json=[1, 2], headers=AUTH).status_code == 422
    assert stored(sqlite_url) == 0


def test_a_write_refuses_a_body_it_does_not_take_and_changes_nothing(client):
    create(client)
    path = "/v1/studies/CartPole-v1-ppo"
    headers = {**AUTH, "Content-Type": "application/json"}
    for action in ("pause", "resume", "cancel"):
        for body in ("{bad", '{"force": true}', "[]"):
            refused = client.post(f"{path}/{action}", content=body, headers=headers)
            assert refused.status_code == 422, (action, body, refused.text)
            assert "takes no body" in refused.json()["detail"]
    assert client.get(path).json()["state"] == "open"
    for body in ("{bad", '{"trials": 9, "force": true}', "[9]"):
        refused = client.patch(f"{path}/budget", content=body, headers=headers)
        assert refused.status_code == 422, (body, refused.text)
    assert client.get(path).json()["budget"] == 3
    # no body, an empty one, or {} (what some clients send) is no body
    assert client.post(f"{path}/pause", headers=AUTH).status_code == 200
    assert client.post(f"{path}/resume", content="", headers=headers).status_code == 200
    assert client.post(f"{path}/pause", json={}, headers=AUTH).json()["state"] == "paused"


def test_an_unknown_query_parameter_is_refused_on_every_route(client, sqlite_url):
    create(client, family="cartpole-physics")
    typo = client.get("/v1/studies/CartPole-v1-ppo/trials?limt=5")
    assert typo.status_code == 422 and "query parameter limt" in typo.json()["detail"]
    wrong_name = client.get("/v1/families/cartpole-physics/best?algo=ppo")
    assert wrong_name.status_code == 422 and "query parameter algo" in wrong_name.json()["detail"]
    bodies = {
        ("post", "/v1/studies"): {**CARTPOLE, "trials": 9},
        ("patch", "/v1/studies/{study_id}/budget"): {"trials": 9},
    }
    paths = client.get("/openapi.json").json()["paths"]  # every route the API documents
    assert len([m for operations in paths.values() for m in operations]) >= 12
    for template, operations in paths.items():
        path = template.format(study_id="CartPole-v1-ppo", name="cartpole-physics")
        for method in operations:
            body = bodies.get((method, template))
            refused = client.request(method, f"{path}?bogus=1", json=body, headers=AUTH)
            assert refused.status_code == 422, (method, path, refused.text)
            assert refused.json()["problems"] == ["query parameter bogus: unknown query parameter"]
    assert stored(sqlite_url) == 1
    study = client.get("/v1/studies/CartPole-v1-ppo").json()
    assert (study["state"], study["budget"]) == ("open", 3)
    assert client.get("/v1/studies/CartPole-v1-ppo/trials?limit=5").status_code == 200


def test_an_unreachable_storage_is_a_503_that_hides_the_password():
    app = client_for("postgresql://nobody:s3cret-pw@127.0.0.1:1/none")
    for method, path, body in [
        ("GET", "/v1/studies", None),
        ("GET", "/v1/studies/x", None),
        ("POST", "/v1/studies", CARTPOLE),
        ("POST", "/v1/studies/x/pause", None),
    ]:
        answer = app.request(method, path, json=body, headers=AUTH)
        assert answer.status_code == 503, (method, path, answer.text)
        assert "s3cret-pw" not in answer.text
        assert answer.json()["error"] == "StorageUnavailable", answer.text


def test_unknown_study_is_404_naming_it(client):
    for method, path in (
        ("get", "/v1/studies/ghost"),
        ("get", "/v1/studies/ghost/trials"),
        ("post", "/v1/studies/ghost/pause"),
        ("post", "/v1/studies/ghost/cancel"),
    ):
        response = client.request(method, path, headers=AUTH)
        assert response.status_code == 404 and "'ghost'" in response.json()["detail"], path
    budget = client.patch("/v1/studies/ghost/budget", json={"trials": 4}, headers=AUTH)
    assert budget.status_code == 404


def test_too_many_open_studies(sqlite_url):
    client = client_for(sqlite_url, max_concurrent_studies=1)
    create(client, name="one")
    refused = client.post("/v1/studies", json={**CARTPOLE, "name": "two"}, headers=AUTH)
    assert refused.status_code == 429
    assert "AUTORL_API_MAX_CONCURRENT_STUDIES=1" in refused.json()["detail"]
    assert stored(sqlite_url) == 1
    # Continuing the open study is not one more; a cancelled one makes room.
    assert client.post("/v1/studies", json={**CARTPOLE, "name": "one"}, headers=AUTH).is_success
    client.post("/v1/studies/one/cancel", headers=AUTH)
    create(client, name="two")


def test_allowed_entry_point(sqlite_url):
    client = client_for(sqlite_url, allowed_entry_points=["tests.fixtures"])
    study = create(client, env_id="ApiCounting-v0", entry_point="tests.fixtures.envs:CountingEnv")
    assert study["env_id"] == "ApiCounting-v0"
    assert module_allowed("tests.fixtures.envs:CountingEnv", ["tests.fixtures"])
    assert not module_allowed("tests.fixtures_evil:X", ["tests.fixtures"])
    assert module_allowed("mypkg.envs:X", ["mypkg.envs:"])
    assert not module_allowed("anything:X", [])


def test_an_env_that_crashes_its_process_is_refused_and_the_api_goes_on(sqlite_url):
    # os.abort() at its 5th step: in the API's own process it would end the server
    client = client_for(sqlite_url, allowed_entry_points=["tests.fixtures"])
    body = {
        **CARTPOLE,
        "env_id": "ApiAbort-v0",
        "entry_point": "tests.fixtures.envs:AbortingEnv",
        "env_kwargs": {"abort_after": 5},
    }
    refused = client.post("/v1/studies", json=body, headers=AUTH)
    assert refused.status_code == 422, refused.text
    assert "killed by SIGABRT" in refused.json()["detail"]
    assert stored(sqlite_url) == 0
    assert create(client)["env_id"] == "CartPole-v1"  # the server is still there


def test_bugs_answer_500_json_not_a_traceback(sqlite_url):
    app = create_app(ApiSettings(storage_url=sqlite_url, token=TOKEN))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    response = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert response.status_code == 500
    assert response.json() == {
        "detail": "internal error (logged on the server)",
        "error": "internal",
    }
