"""Bad input: a clear message that says what to change, and nothing stored is harmed."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import optuna
import pytest

from autorl.cli import main
from autorl.study.accounting import finished_count
from tests.integration.cli_helpers import TINY, run_cli, trials

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> Path:
    """A storage holding a finished study, made once and copied for every test."""
    path = tmp_path_factory.mktemp("template") / "autorl.db"
    code = main(
        [
            "tune",
            "CartPole-v1",
            "--trials",
            "2",
            "--storage",
            f"sqlite:///{path}",
            "--study",
            "keep",
            "--validation-seeds",
            "0",
            *TINY,
        ]
    )
    assert code == 0
    with sqlite3.connect(path) as conn:  # fold the WAL into the file before copying it
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def stored(template_db, sqlite_url):
    """This test's storage: a copy of the template, which every bad input must leave alone."""
    shutil.copy(template_db, sqlite_url.removeprefix("sqlite:///"))
    return [(t.number, t.state, t.value, t.params) for t in trials(sqlite_url, "keep")]


def untouched(url: str, before) -> bool:
    now = [(t.number, t.state, t.value, t.params) for t in trials(url, "keep")]
    return now == before


def study_names(url: str) -> list[str]:
    return [s.study_name for s in optuna.get_all_study_summaries(url)]


CASES = [
    (["tune", "CartPol-v1"], "unknown environment id 'CartPol-v1'. Did you mean 'CartPole-v1'"),
    (["tune", "Pendulum-v1", "--algo", "dqn"], "DQN needs a Discrete action space. Use a2c, ppo"),
    (["tune", "CartPole-v1", "--env-kwargs", "{g: 1}"], "--env-kwargs: not valid JSON"),
    (["tune", "CartPole-v1", "--env-attrs", '{"lenght": 1.0}'], "lenght"),
    (["tune", "CartPole-v1", "--trials", "0"], "--trials 0 must be between 1 and 100000"),
    (["tune", "CartPole-v1", "--trials", "-5"], "--trials -5"),
    (["tune", "CartPole-v1", "--timesteps", "10"], "--timesteps 10 is too small"),
    (["tune", "CartPole-v1", "--timesteps", "100000000000"], "absurd"),
    (["tune", "CartPole-v1", "--seeds", "0"], "--seeds 0"),
    (["tune", "CartPole-v1", "--jobs", "0"], "--jobs 0"),
    (
        ["tune", "CartPole-v1", "--seeds", "2", "--max-seeds", "3"],
        "--seeds K trains every configuration on K seeds; --max-seeds race them",
    ),
    (["tune", "CartPole-v1", "--min-seeds", "4"], "--min-seeds 4 must be between 1 and --max-se"),
    (["tune", "CartPole-v1", "--max-seeds", "1000"], "--max-seeds 1000 must be between 1 and"),
    (["tune", "CartPole-v1", "--test-seeds", "-1"], "--test-seeds must be between 0 and 100"),
    (["tune", "CartPole-v1", "--finalists", "1"], "one finalist is no choice"),
    (["tune", "CartPole-v1", "--finalists", "3", "--final-seeds", "0"], "--final-seeds 0 must"),
    (["tune", "CartPole-v1", "--space", "nope"], "nope"),
    (["tune", "Bad-v0", "--entry-point", "tests.fixtures.envs:BrokenInitEnv"], "level7.map"),
    (
        ["tune", "Nan-v0", "--entry-point", "tests.fixtures.envs:NanRewardEnv"],
        "non-finite reward at step 5",
    ),
    (
        [
            "tune",
            "Raise-v0",
            "--entry-point",
            "tests.fixtures.envs:RaisingEnv",
            "--env-kwargs",
            '{"fail_after": 3}',
        ],
        "simulated solver failure",
    ),
    (
        # a native crash while it is checked: the CLI (here: the test's own process) lives on
        [
            "tune",
            "Abort-v0",
            "--entry-point",
            "tests.fixtures.envs:AbortingEnv",
            "--env-kwargs",
            '{"abort_after": 5}',
        ],
        "ended the process that checked it (reset, random steps and a probe): the checking "
        "process was killed by SIGABRT",
    ),
    (
        # a native crash while it is built, to read its observation space: the CLI lives on
        ["tune", "AbortBuild-v0", "--entry-point", "tests.fixtures.envs:AbortOnBuildEnv"],
        "ended the process that built it: the checking process was killed by SIGABRT",
    ),
    (["tune", "X-v0", "--entry-point", "no_such_module:Env"], "no_such_module"),
    (
        ["tune", "NanObs-v0", "--entry-point", "tests.fixtures.envs:NanObsEnv"],
        "non-finite observation at step 3",
    ),
    (["tune", "CartPole-v1", "--study", "runs/a"], "must not contain a path separator"),
    (["tune", "CartPole-v1", "--study", "a\nb"], "must not contain control characters"),
    (["tune", "CartPole-v1", "--max-retries", "11"], "--max-retries 11 must be between 0 and 10"),
    (["tune", "CartPole-v1", "--memory-limit", "64"], "--memory-limit 64 MB is too small"),
    (["tune", "CartPole-v1", "--max-concurrent", "0"], "--max-concurrent 0 must be between"),
    (["resume", "missing-study"], "no study named 'missing-study'"),
    (["best", "missing-study"], "no study named 'missing-study'"),
]


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(c[0][:2]) for c in CASES])
def test_bad_input_is_refused_with_a_clear_message(stored, sqlite_url, capsys, args, message):
    code, _out, err = run_cli([*args, "--storage", sqlite_url], capsys)
    assert code == 2
    assert message in err, err
    assert "Traceback" not in err
    assert untouched(sqlite_url, stored)
    assert study_names(sqlite_url) == ["keep"]


def test_malformed_space_file_names_the_field(stored, sqlite_url, tmp_path, capsys):
    space = tmp_path / "mine.yaml"
    space.write_text(
        "algo: ppo\nparams:\n  learning_rate: {type: float, low: 0, high: 0.1, log: true}\n"
    )
    code, _, err = run_cli(
        ["tune", "CartPole-v1", "--space", str(space), "--storage", sqlite_url], capsys
    )
    assert code == 2
    assert "params.learning_rate.low" in err
    assert untouched(sqlite_url, stored)


FILES = [
    (
        ["tune", "CartPole-v1", "--space"],
        "space.yaml",
        'algo: ppo\nparams:\n  learning_rate: !!python/object/apply:os.system ["touch pwned"]\n',
        "not valid YAML: could not determine a constructor for the tag",
    ),
    (
        ["tune", "CartPole-v1", "--space"],
        "space.yaml",
        "algo: ppo\nparams:\n  n_steps: {type: int, low: 1, high: 100000000000000}\n",
        "params.n_steps.high: must be <= 1,048,576",
    ),
    (
        ["tune", "CartPole-v1", "--space"],
        "space.yaml",
        'algo: ppo\nparams:\n  learning_rate: {type: float, low: "a", high: 0.1}\n',
        "params.learning_rate.low: Input should be a valid number",
    ),
    (["kb", "import"], "kb.jsonl", '{"kind": "header", "format": 1', "damaged or truncated"),
    (["kb", "import"], "kb.csv", "name,score\nx,1\n", "kb.csv:1: not JSON"),
    (["kb", "import"], "kb.jsonl", '{"hello": "world"}\n', "not a knowledge-base line"),
]


@pytest.mark.parametrize(
    ("args", "name", "text", "message"), FILES, ids=[f"{c[0][0]} {c[3][:24]}" for c in FILES]
)
def test_a_hostile_or_foreign_file_is_refused_end_to_end(
    stored, sqlite_url, tmp_path, capsys, monkeypatch, args, name, text, message
):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / name
    path.write_text(text)
    code, _, err = run_cli([*args, str(path), "--storage", sqlite_url], capsys)
    assert code == 2
    assert message in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "pwned").exists()
    assert untouched(sqlite_url, stored)
    assert study_names(sqlite_url) == ["keep"]


def test_changed_settings_on_an_existing_study_are_refused(stored, sqlite_url, capsys):
    code, _, err = run_cli(
        ["tune", "CartPole-v1", "--study", "keep", "--timesteps", "900", "--storage", sqlite_url],
        capsys,
    )
    assert code == 2
    assert "timesteps: stored 600, asked 900" in err and "autorl resume keep" in err
    assert untouched(sqlite_url, stored)
    # stored with --seeds 1: racing it now would mix trials scored on different seeds
    code, _, err = run_cli(
        ["tune", "CartPole-v1", "--study", "keep", "--max-seeds", "3", "--storage", sqlite_url],
        capsys,
    )
    assert code == 2 and "race: stored None" in err
    assert untouched(sqlite_url, stored)


def test_env_failing_late_in_training_fails_trials_with_a_reason_then_stops(sqlite_url, capsys):
    code, _, err = run_cli(
        [
            "tune",
            "Late-v0",
            "--entry-point",
            "tests.fixtures.envs:RaisingEnv",
            "--env-kwargs",
            '{"fail_after": 200}',
            "--n-envs",
            "1",
            "--trials",
            "5",
            "--study",
            "late",
            "--storage",
            sqlite_url,
            "--validation-seeds",
            "0",
            *TINY,
        ],
        capsys,
    )
    assert code == 2
    assert "failed in each of the first 3 trials" in err and "simulated solver failure" in err
    done = trials(sqlite_url, "late")
    assert finished_count(done) == 3
    assert {t.user_attrs["failure_reason"] for t in done} == {"env_error"}
