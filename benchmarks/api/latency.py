"""API latency with 10,000 stored trials: p50 and p99 of the read endpoints.

A PostgreSQL database `autorl_bench_api` (created if missing and kept, so a rerun skips the
filling) gets one family of 5 tasks, each a study of 2,000 completed trials (parameters
sampled from the PPO space, scores random), submitted through the API. The first study is
filled with Optuna's ``add_trials`` (5-10 trials/s here); the others get copies of its
trials made in SQL, with their scores rescaled per study (``copy_trials``), since only the
number of rows matters to the reads measured. Requests go through FastAPI's in-process
test client (no network), after 5 warm-up requests each.
Usage: python benchmarks/api/latency.py [ADMIN_URL] [REQUESTS]
"""

from __future__ import annotations

import json
import platform
import random
import statistics
import sys
import time
import warnings
from pathlib import Path

import optuna
import sqlalchemy
from optuna.trial import create_trial

from autorl.api import ApiSettings, create_app
from autorl.spaces import load_space

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ADMIN = sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/test"
REQUESTS = int(sys.argv[2]) if len(sys.argv) > 2 else 100
TASKS, TRIALS = 5, 2000
TOKEN = "benchmark-token-0123"
HERE = Path(__file__).resolve().parent


def database() -> str:
    name = "autorl_bench_api"
    admin = sqlalchemy.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            sqlalchemy.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if not exists:
            conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    return ADMIN.rsplit("/", 1)[0] + f"/{name}"


def fill(url: str, client: TestClient) -> list[str]:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space, rng = load_space("ppo"), random.Random(0)
    names = []
    for i in range(TASKS):
        body = {
            "env_id": "CartPole-v1", "algo": "ppo", "trials": TRIALS, "timesteps": 50000,
            "env_attrs": {"length": 0.25 + 0.25 * i}, "family": "bench", "warm_start": "none",
        }  # fmt: skip
        response = client.post(
            "/v1/studies", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        response.raise_for_status()
        name = response.json()["id"]
        names.append(name)
        if i > 0:
            added = copy_trials(url, names[0], name)
            print(f"{name}: copied {added} trials of {names[0]} in SQL", flush=True)
            continue
        study = optuna.load_study(study_name=name, storage=url)
        missing = TRIALS - len(study.get_trials(deepcopy=False))
        sampler = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=i))
        trials = []
        for _ in range(missing):
            probe = sampler.ask()
            params = space.sample(probe, "discrete")
            sampler.tell(probe, 0.0)
            trials.append(
                create_trial(
                    params=params,
                    distributions=probe.distributions,
                    value=rng.uniform(10, 500),
                    user_attrs={"config": {"algo": "ppo", "policy": "MlpPolicy", "sb3_kwargs": {}}},
                )
            )
        started = time.perf_counter()
        study.add_trials(trials)
        if trials:
            per_trial = (time.perf_counter() - started) / len(trials) * 1000
            print(f"{name}: added {len(trials)} trials, {per_trial:.0f} ms each", flush=True)
    return names


COPIES = {
    # table: (its columns besides trial_id, what each copy gets); x is the source row
    "trial_params": ("param_name, param_value, distribution_json",
                     "x.param_name, x.param_value, x.distribution_json"),
    "trial_values": ("objective, value, value_type", "x.objective, x.value * :scale, x.value_type"),
    "trial_user_attributes": ("key, value_json", "x.key, x.value_json"),
}  # fmt: skip


def copy_trials(url: str, source: str, target: str) -> int:
    """Give ``target`` the trials of ``source`` it does not have yet (by number), in SQL."""
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        ids = dict(conn.execute(sqlalchemy.text("SELECT study_name, study_id FROM studies")).all())
        args = {"src": ids[source], "dst": ids[target], "scale": 1 + 0.05 * ids[target]}
        added = conn.execute(
            sqlalchemy.text(
                "INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) "
                "SELECT number, :dst, state, datetime_start, datetime_complete FROM trials o "
                "WHERE o.study_id = :src AND o.number >= "
                "(SELECT count(*) FROM trials WHERE study_id = :dst) ORDER BY o.number"
            ),
            args,
        ).rowcount
        for table, (columns, values) in COPIES.items():
            conn.execute(
                sqlalchemy.text(
                    f"INSERT INTO {table} (trial_id, {columns}) SELECT n.trial_id, {values} "
                    f"FROM {table} x JOIN trials o ON o.trial_id = x.trial_id "
                    "JOIN trials n ON n.study_id = :dst AND n.number = o.number "
                    f"WHERE o.study_id = :src AND NOT EXISTS "
                    f"(SELECT 1 FROM {table} y WHERE y.trial_id = n.trial_id)"
                ),
                args,
            )
    engine.dispose()
    return added


def timed(client: TestClient, path: str) -> dict[str, float]:
    for _ in range(5):
        client.get(path).raise_for_status()
    samples = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        client.get(path).raise_for_status()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p99_ms": round(samples[min(len(samples) - 1, int(0.99 * len(samples)))], 1),
        "requests": REQUESTS,
    }


def main() -> None:
    url = database()
    client = TestClient(create_app(ApiSettings(storage_url=url, token=TOKEN)))
    started = time.perf_counter()
    names = fill(url, client)
    print(f"stored {TASKS * TRIALS} trials in {time.perf_counter() - started:.0f} s", flush=True)
    results = {
        "GET /v1/studies/{id}": timed(client, f"/v1/studies/{names[0]}"),
        "GET /v1/families/{name}/best": timed(client, "/v1/families/bench/best?algorithm=ppo"),
        "GET /v1/studies/{id}/trials?limit=100": timed(
            client, f"/v1/studies/{names[0]}/trials?limit=100"
        ),
    }
    record = {
        "trials": TASKS * TRIALS,
        "machine": f"{platform.node()} {platform.machine()} {platform.processor()}".strip(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "storage": "PostgreSQL 15 on the same machine",
        "results": results,
    }
    (HERE / "latency.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
