"""``autorl pbt`` for real: tiny populations of PPO agents on SQLite and PostgreSQL, a
killed worker's segment taken over, bad input refused with nothing stored, the winner's
schedule printed and replayed from scratch."""

from __future__ import annotations

import json
import signal
import time

import optuna
import pytest
import yaml

from autorl.db import population as store
from autorl.pbt.records import DONE, FAILED
from autorl.runtime.population import mutable_specs
from autorl.spaces import SearchSpace
from tests.fixtures.envs import CountingEnv, RaisingEnv, entry_point
from tests.integration.cli_helpers import run_cli, spawn_cli

pytestmark = pytest.mark.integration

TINY_SPACE = {
    "algo": "ppo",
    "env": {"n_envs": 1},
    "params": {
        "learning_rate": {"type": "float", "low": 1e-4, "high": 3e-3, "log": True, "mutable": True},
        "ent_coef": {"type": "float", "low": 1e-6, "high": 0.05, "log": True, "mutable": True},
        "clip_range": {"type": "categorical", "choices": [0.1, 0.2, 0.3], "mutable": True},
        "n_steps": 64,
        "batch_size": 32,
        "n_epochs": 2,
        "net_depth": 1,
        "net_width": 16,
    },
}


@pytest.fixture
def space_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY_SPACE))
    return str(path)


def pbt_args(space_file: str, url: str, *extra: str, env: type = CountingEnv) -> list[str]:
    env_id = "Count-v0" if env is CountingEnv else f"{env.__name__}-v0"  # one class an id
    return [
        "pbt", env_id, "--entry-point", entry_point(env), "--space", space_file,
        "--population", "3", "--timesteps", "600", "--interval", "200", "--episodes", "2",
        "--name", "pop", "--storage", url, *extra,
    ]  # fmt: skip


def check_finished_run(url: str, population: int, generations: int) -> list:
    run = store.get_run(url, "pop")
    assert run.state == DONE
    segments = store.segments(url, run.id)
    # one row per member and generation: nothing trained twice, nothing left out
    assert sorted((s.member, s.generation) for s in segments) == [
        (m, g) for m in range(population) for g in range(generations)
    ]
    specs = mutable_specs(SearchSpace.from_dict(run.space))
    for s in segments:
        assert s.status == DONE and s.result["env_steps"] >= s.until_step
        assert all(spec.contains(s.params[n]) is None for n, spec in specs.items())
    return segments


def test_a_population_trains_exploits_and_its_winner_replays(
    space_file, sqlite_url, tmp_path, capsys
):
    code, out, err = run_cli(pbt_args(space_file, sqlite_url), capsys)
    assert code == 0, err
    assert "3 members x 3 segments of 200 steps" in out
    assert "test" in out and "seeded from 200000" in out
    segments = check_finished_run(sqlite_url, 3, 3)
    later = [s for s in segments if s.generation > 0]
    copies = [s for s in later if s.exploited]
    assert len(copies) == 2  # the bottom third copies the top third, once per generation
    by_key = {(s.member, s.generation): s for s in segments}
    for copy in copies:
        donor = by_key[(copy.source_member, copy.generation - 1)]
        assert donor.score >= by_key[(copy.member, copy.generation - 1)].score
        assert copy.params["n_steps"] == donor.params["n_steps"]
    run = store.get_run(sqlite_url, "pop")
    outcome = store.get_outcome(sqlite_url, run.id)
    assert outcome["test_seed"] == 200000 and len(outcome["test_returns"]) == 20
    assert store.checkpoint_generations(sqlite_url, run.id).keys() == {1, 2}

    code, out, _ = run_cli(["best", "pop", "--schedule", "--storage", sqlite_url], capsys)
    assert code == 0 and "schedule of pop's winner" in out and "0-200" in out
    code, out, _ = run_cli(
        ["best", "pop", "--schedule", "--format", "json", "--storage", sqlite_url], capsys
    )
    schedule = json.loads(out)
    assert [s["until_step"] for s in schedule] == [200, 400, 600]
    report = tmp_path / "pop.html"
    code, _, err = run_cli(["report", "pop", "--out", str(report), "--storage", sqlite_url], capsys)
    assert code == 0, err
    page = report.read_text()
    assert "The population over time" in page and "lineage and schedule" in page
    assert "seeded from 200000" in page
    model = tmp_path / "replayed.zip"
    code, out, err = run_cli(
        ["train", "pop", "--out", str(model), "--seed", "7", "--storage", sqlite_url], capsys
    )
    assert code == 0, err
    assert "replayed pop's winning schedule (3 segments)" in out
    sidecar = json.loads((tmp_path / "replayed.autorl.json").read_text())
    extra = sidecar["extra"]
    assert extra["pbt_run"] == "pop" and extra["schedule_starts"] == [0, 200, 400]


def test_pb2_explores_inside_the_bounds(space_file, sqlite_url, capsys):
    args = pbt_args(space_file, sqlite_url, "--explore", "pb2", "--timesteps", "800")
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    check_finished_run(sqlite_url, 3, 4)


def test_two_workers_share_a_run_on_postgresql(space_file, pg_url, capsys):
    args = pbt_args(space_file, pg_url, "--jobs", "2", "--population", "4", "--timesteps", "1000")
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    segments = check_finished_run(pg_url, 4, 5)
    assert len({s.worker for s in segments}) == 2  # both workers trained members


def test_a_killed_worker_s_member_resumes_from_its_checkpoint(space_file, sqlite_url, tmp_path):
    proc = spawn_cli(pbt_args(space_file, sqlite_url, "--timesteps", "1000"), tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = store.get_run(sqlite_url, "pop") if proc.poll() is None else None
        done = [s for s in store.segments(sqlite_url, run.id) if s.status == DONE] if run else []
        if len(done) >= 4:  # the second generation has begun
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    stored = {(s.member, s.generation): s.score for s in store.segments(sqlite_url, run.id)
              if s.status == DONE}  # fmt: skip
    assert len(stored) >= 4

    proc = spawn_cli(["pbt", "--resume", "pop", "--storage", sqlite_url], tmp_path)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    segments = check_finished_run(sqlite_url, 3, 5)
    after = {(s.member, s.generation): s.score for s in segments}
    assert all(after[key] == score for key, score in stored.items())  # nothing redone


def test_bad_input_is_refused_and_nothing_is_stored(space_file, sqlite_url, tmp_path, capsys):
    cases = [
        (["--population", "1"], "--population must be at least 2"),
        (["--interval", "5000"], "--interval must be between 1 and --timesteps"),
    ]
    for extra, message in cases:
        code, _, err = run_cli(pbt_args(space_file, sqlite_url, *extra), capsys)
        assert code == 2 and message in err
    frozen = tmp_path / "frozen.yaml"
    frozen.write_text(yaml.safe_dump({**TINY_SPACE, "params": {"learning_rate": 1e-3}}))
    code, _, err = run_cli(pbt_args(str(frozen), sqlite_url), capsys)
    assert code == 2 and "marks no parameter `mutable: true`" in err
    code, _, err = run_cli(["pbt", "NoSuchEnv-v9", "--storage", sqlite_url], capsys)
    assert code == 2 and "NoSuchEnv-v9" in err
    assert store.list_runs(sqlite_url) == []


def test_an_env_that_raises_fails_the_run_with_its_error(space_file, sqlite_url, capsys):
    args = pbt_args(space_file, sqlite_url, "--env-kwargs", '{"fail_after": 150}', env=RaisingEnv)
    code, out, err = run_cli(args, capsys)
    assert code == 1, err
    assert "every member failed in generation 0" in out and "matrix is singular" in out
    run = store.get_run(sqlite_url, "pop")
    assert run.state == FAILED and len(store.segments(sqlite_url, run.id)) == 3


def test_the_first_population_is_warm_started_from_a_past_study(space_file, sqlite_url, capsys):
    tune = [
        "tune", "Count-v0", "--entry-point", entry_point(CountingEnv), "--space", space_file,
        "--study", "past", "--trials", "2", "--seeds", "1", "--timesteps", "300",
        "--evaluations", "1", "--eval-episodes", "2", "--validation-seeds", "0",
        "--no-progress", "--storage", sqlite_url,
    ]  # fmt: skip
    code, _, err = run_cli(tune, capsys)
    assert code == 0, err
    code, out, err = run_cli(pbt_args(space_file, sqlite_url, "--population", "4"), capsys)
    assert code == 0, err
    assert "member 0 warm-started from task:" in out and "/past#" in out
    run = store.get_run(sqlite_url, "pop")
    tuned = optuna.load_study(study_name="past", storage=sqlite_url)
    first = store.segments(sqlite_url, run.id, 0)[0].params
    assert any(
        all(first[k] == v for k, v in t.params.items()) for t in tuned.trials
    )  # member 0 trains a tuned configuration
    assert len(store.warm_start_origins(sqlite_url, run.id)) <= 2  # half the population at most
