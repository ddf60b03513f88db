"""The command line end to end on real environments with tiny budgets."""

from __future__ import annotations

import json

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from autorl.study.accounting import finished_count
from tests.integration.cli_helpers import TINY, TINY_RACING, run_cli, trials

pytestmark = pytest.mark.integration


def test_cartpole_tune_best_train_evaluate_report(tmp_path, sqlite_url, capsys):
    code, out, err = run_cli(
        [
            "tune",
            "CartPole-v1",
            "--algo",
            "ppo",
            "--trials",
            "3",
            "--storage",
            sqlite_url,
            "--validation-seeds",
            "1",
            *TINY_RACING,
        ],
        capsys,
    )
    assert code == 0, err
    assert "created study CartPole-v1-ppo" in out
    # racing (the default): the published configuration ran all of its 3 seeds
    assert "best trial" in out and "mean of training seeds [0..2]" in out
    assert "test on unseen seeds [100000]" in out and "no choice used them" in out
    assert finished_count(trials(sqlite_url, "CartPole-v1-ppo")) == 3
    for t in trials(sqlite_url, "CartPole-v1-ppo"):
        assert t.user_attrs["env_steps"] >= 600 or t.state != TrialState.COMPLETE
        assert t.user_attrs["wall_s"] > 0

    code, out, _ = run_cli(["studies", "--storage", sqlite_url], capsys)
    assert "CartPole-v1-ppo" in out and "3/3" in out and "done" in out

    code, out, _ = run_cli(["best", "CartPole-v1-ppo", "--storage", sqlite_url], capsys)
    best = json.loads(out)
    assert best["config"]["algo"] == "ppo" and best["validation"]["train_seeds"] == [100000]
    assert best["evaluation"]["episodes"] == 2 and best["train_seeds"] == [0, 1, 2]
    # seed run k is scored on its own episodes (10000 + 2k, 10001 + 2k), and so is a test seed
    assert best["evaluation"]["episode_seed_step"] == 2
    assert best["validation"]["eval_seed_step"] == best["validation"]["episodes"]
    assert best["selectable"] and best["validation"]["selection_score"] == best["score"]

    code, out, err = run_cli(
        ["best", "CartPole-v1-ppo", "--format", "zoo", "--storage", sqlite_url], capsys
    )
    if "shared_trunk" in best["config"]["sb3_kwargs"].get("policy_kwargs", {}):
        # RL Zoo's file cannot name autorl's trunk: refused, not exported as another network
        assert code == 2 and "cannot be written as an RL Zoo file" in err and not out
    else:
        zoo = yaml.safe_load(out)["CartPole-v1"]
        assert zoo["n_timesteps"] == 600 and zoo["policy"] == "MlpPolicy"

    _, out, _ = run_cli(
        ["best", "CartPole-v1-ppo", "--format", "python", "--storage", sqlite_url], capsys
    )
    compile(out, "best.py", "exec")

    model = tmp_path / "model.zip"
    code, out, err = run_cli(
        ["train", "CartPole-v1-ppo", "--storage", sqlite_url, "--out", str(model)], capsys
    )
    assert code == 0, err
    assert model.exists()
    code, out, err = run_cli(["evaluate", str(model), "--episodes", "3"], capsys)
    assert code == 0, err
    assert "CartPole-v1:" in out and "over 3 episodes" in out

    report = tmp_path / "report.html"
    code, out, err = run_cli(
        ["report", "CartPole-v1-ppo", "--storage", sqlite_url, "--out", str(report)], capsys
    )
    assert code == 0, err
    assert "<script" in report.read_text()


def test_a_final_choice_among_the_top_trials_is_published_and_reported(
    tmp_path, sqlite_url, capsys
):
    code, out, err = run_cli(
        [
            "tune",
            "CartPole-v1",
            "--trials",
            "3",
            "--max-seeds",
            "1",
            "--pruner",
            "none",
            "--finalists",
            "2",
            "--final-seeds",
            "1",
            "--validation-seeds",
            "1",
            "--jobs",
            "2",  # the final and test runs go to two threads, each run in its own process
            "--storage",
            sqlite_url,
            *TINY_RACING,
        ],
        capsys,
    )
    assert code == 0, err
    assert "final choice among the top 2 on 1 more seeds [50000]" in out
    _, out, _ = run_cli(["best", "CartPole-v1-ppo", "--storage", sqlite_url], capsys)
    best = json.loads(out)
    final, test = best["final"], best["validation"]
    assert best["trial"] == final["chosen"] == test["trial"] and test["final_choice"]
    assert len(final["finalists"]) == 2 and final["env_steps"] >= 2 * 600
    assert test["selection_seeds"] == [0, 50000] and test["train_seeds"] == [100000]
    report = tmp_path / "report.html"
    code, _, err = run_cli(
        ["report", "CartPole-v1-ppo", "--storage", sqlite_url, "--out", str(report)], capsys
    )
    assert code == 0, err
    assert "Final seeds" in report.read_text() and "the final choice above" in report.read_text()


def test_rerun_continues_and_more_budget_adds_exactly_the_difference(sqlite_url, capsys):
    args = [
        "tune",
        "CartPole-v1",
        "--trials",
        "2",
        "--storage",
        sqlite_url,
        "--validation-seeds",
        "0",
        *TINY,
    ]
    assert run_cli(args, capsys)[0] == 0
    first = [(t.number, t.value) for t in trials(sqlite_url, "CartPole-v1-ppo")]
    code, out, _ = run_cli(args, capsys)
    assert code == 0 and "continuing study" in out
    assert [(t.number, t.value) for t in trials(sqlite_url, "CartPole-v1-ppo")] == first
    code, out, _ = run_cli(
        ["resume", "CartPole-v1-ppo", "--trials", "3", "--storage", sqlite_url, "--no-progress"],
        capsys,
    )
    assert code == 0
    now = trials(sqlite_url, "CartPole-v1-ppo")
    assert finished_count(now) == 3
    assert [(t.number, t.value) for t in now[:2]] == first


def test_pendulum_sac_with_env_kwargs(sqlite_url, capsys):
    code, _out, err = run_cli(
        [
            "tune",
            "Pendulum-v1",
            "--algo",
            "sac",
            "--trials",
            "2",
            "--storage",
            sqlite_url,
            "--env-kwargs",
            '{"g": 12.0}',
            "--validation-seeds",
            "0",
            "--study",
            "pendulum",
            *TINY,
        ],
        capsys,
    )
    assert code == 0, err
    done = trials(sqlite_url, "pendulum")
    assert finished_count(done) == 2
    study = optuna.load_study(study_name="pendulum", storage=sqlite_url)
    assert study.user_attrs["autorl.config"]["task"]["env_kwargs"] == {"g": 12.0}
    for t in done:
        assert t.user_attrs["config"]["sb3_kwargs"].get("learning_starts", 100) <= 150
