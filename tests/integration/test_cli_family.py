"""Task families end to end: tune a family, warm starts, family queries, KB export/import."""

from __future__ import annotations

import json

import pytest
import yaml

from autorl.spaces import load_space
from autorl.study.accounting import finished_count
from autorl.study.enqueue import sample_configurations
from tests.integration.cli_helpers import TINY, run_cli, trials

pytestmark = pytest.mark.integration

FAMILY = {
    "name": "cp",
    "threshold": 475,
    "base": {"env_id": "CartPole-v1"},
    "variants": [
        {"name": "default"},
        {"name": "short", "env_attrs": {"length": 0.25}},
        {"name": "long", "env_attrs": {"length": 1.0}},
    ],
}
POOL = sample_configurations(load_space("ppo"), "discrete", 2, seed=0)


def family_file(tmp_path, doc=FAMILY):
    path = tmp_path / "cp.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def tune_family(capsys, fam, url, *options):
    """``autorl family tune`` with tiny budgets and no validation."""
    args = ["family", "tune", str(fam), *options, "--storage", url, "--validation-seeds", "0"]
    return run_cli([*args, *TINY], capsys)


def tune_one(capsys, env, url):
    """``autorl tune ENV`` for one tiny trial without validation."""
    return run_cli(
        ["tune", env, "--trials", "1", "--storage", url, "--validation-seeds", "0", *TINY], capsys
    )


def sources(url, study):
    return [t.user_attrs.get("source", "") for t in trials(url, study)]


def test_family_tune_warm_starts_each_task_from_the_ones_before(tmp_path, sqlite_url, capsys):
    fam = family_file(tmp_path)
    code, out, err = tune_family(
        capsys, fam, sqlite_url, "--trials", "3", "--warm-start-trials", "2"
    )
    assert code == 0, err
    first, second, third = (f"cp-{v}-ppo" for v in ("default", "short", "long"))
    assert not any(s.startswith("warm_start") for s in sources(sqlite_url, first))
    warm = [s for s in sources(sqlite_url, second) if s.startswith("warm_start:task:")]
    assert len(warm) == 1, "one past task with 3 trials: proposals capped by budget // 2"
    assert len([s for s in sources(sqlite_url, third) if s.startswith("warm_start")]) == 1
    assert "warm start: the first" in out
    for study in (first, second, third):
        assert finished_count(trials(sqlite_url, study)) == 3

    code, out, _ = run_cli(["tasks", "--storage", sqlite_url], capsys)
    assert code == 0 and out.count("cp") >= 3 and "length=0.25" in out

    code, out, err = run_cli(["best", "--family", "cp", "--storage", sqlite_url], capsys)
    assert code == 0, err
    best = json.loads(out)
    assert set(best["tasks"]) == {"default", "short", "long"}
    recommended = best["recommended"]
    assert recommended["measured_on"] >= 2 and set(recommended["per_task"]) <= {
        "default",
        "short",
        "long",
    }


def test_live_meta_eval_holds_a_task_out_and_runs_warm_and_cold(tmp_path, sqlite_url, capsys):
    fam = family_file(tmp_path)
    code, _, err = tune_family(capsys, fam, sqlite_url, "--only", "default,short", "--trials", "2")
    assert code == 0, err
    args = ["meta-eval", "live", str(fam), "--task", "long", "--reps", "1", "--trials", "2"]
    args += ["--workdir", str(tmp_path / "w"), "--out", str(tmp_path / "o")]
    code, out, err = run_cli(
        [*args, "--storage", sqlite_url, "--validation-seeds", "0", *TINY], capsys
    )
    assert code == 0, err
    report = json.loads(out[out.index('{\n  "task"') :])
    assert [a["arm"] for a in report["arms"]] == ["cold", "warm"]
    warm = f"sqlite:///{tmp_path / 'w' / 'warm-0.db'}"
    assert sources(warm, "live-long-warm-0")[0].startswith("warm_start:task:")
    cold = f"sqlite:///{tmp_path / 'w' / 'cold-0.db'}"
    assert not any(s.startswith("warm_start") for s in sources(cold, "live-long-cold-0"))


def test_cold_start_when_asked_and_no_warm_start_across_action_kinds(tmp_path, sqlite_url, capsys):
    fam = family_file(tmp_path)
    code, _, err = tune_family(
        capsys, fam, sqlite_url, "--only", "default,short", "--trials", "2", "--warm-start", "none"
    )
    assert code == 0, err
    assert not any(s.startswith("warm_start") for s in sources(sqlite_url, "cp-short-ppo"))
    code, out, err = tune_one(capsys, "Pendulum-v1", sqlite_url)
    assert code == 0, err
    assert "warm start" not in out  # CartPole's discrete-action history says nothing here


def test_kb_export_import_is_idempotent_and_meta_eval_runs_on_the_table(
    tmp_path, sqlite_url, capsys
):
    fam = family_file(tmp_path)
    pool = tmp_path / "pool.json"
    pool.write_text(json.dumps(POOL))
    code, _, err = tune_family(
        capsys,
        fam,
        sqlite_url,
        "--trials",
        "2",
        "--enqueue",
        str(pool),
        "--warm-start",
        "none",
        "--pruner",
        "none",
    )
    assert code == 0, err
    kb = tmp_path / "kb.jsonl"
    code, out, _ = run_cli(["kb", "export", str(kb), "--storage", sqlite_url], capsys)
    assert code == 0 and "3 tasks, 3 studies, 6 trials" in out

    other = f"sqlite:///{tmp_path / 'other.db'}"
    code, out, err = run_cli(["kb", "import", str(kb), "--storage", other], capsys)
    assert code == 0, err
    assert "6 trials added" in out
    code, out, _ = run_cli(["kb", "import", str(kb), "--storage", other], capsys)
    assert "0 trials added (6 already there)" in out
    code, out, _ = run_cli(["kb", "import", str(kb), "--storage", sqlite_url], capsys)
    assert "0 trials added (6 already there)" in out, "importing into the source adds nothing"
    assert len(trials(other, "cp-long-ppo")) == 2

    table = tmp_path / "table.jsonl"
    code, out, err = run_cli(
        ["meta-eval", "table", str(fam), "--algo", "ppo", "--out", str(table), "--storage", other],
        capsys,
    )
    assert code == 0, err
    assert "2 configurations on every task" in out
    code, out, err = run_cli(
        [
            "meta-eval",
            "run",
            str(table),
            "--trials",
            "2",
            "--reps",
            "1",
            "--proposals",
            "1",
            "--out",
            str(tmp_path / "eval"),
        ],
        capsys,
    )
    assert code == 0, err
    summary = json.loads(out)
    assert {a["arm"] for a in summary["arms"]} >= {"cold-tpe", "warm-portfolio"}
    assert (tmp_path / "eval" / "results.md").read_text().startswith("| arm |")
    assert (tmp_path / "eval" / "regret.html").stat().st_size > 1000


@pytest.mark.parametrize(
    "change, message",
    [
        ({"variants": [{"name": "x", "gravity": 1}]}, "variants[0].gravity: unknown field"),
        ({"variants": [{"name": "x", "env_attrs": {"no_such_attr": 1.0}}]}, "no_such_attr"),
        ({"base": {"env_id": "NoSuchEnv-v0"}}, "unknown environment id"),
        (  # a family file may come from anyone: the code it names needs its prefix allowed
            {
                "base": {"env_id": "Counting-v0", "entry_point": "tests.fixtures.envs:CountingEnv"},
                "variants": [{"name": "default"}],
            },
            "would import code ('tests.fixtures.envs:CountingEnv'), and its module is not "
            "allowed; nothing was run. If you trust it, run with --allow-entry-points "
            "tests.fixtures.envs",
        ),
    ],
)
def test_a_bad_family_is_refused_before_anything_is_stored(
    tmp_path, sqlite_url, capsys, change, message
):
    tune_one(capsys, "CartPole-v1", sqlite_url)
    before = trials(sqlite_url, "CartPole-v1-ppo")
    fam = family_file(tmp_path, {**FAMILY, **change})
    code, out, err = run_cli(
        ["family", "tune", str(fam), "--trials", "1", "--storage", sqlite_url, *TINY], capsys
    )
    assert code == 2 and message in err
    assert trials(sqlite_url, "CartPole-v1-ppo") == before
    code, out, _ = run_cli(["tasks", "--storage", sqlite_url], capsys)
    assert "cp" not in out


def test_a_family_of_custom_envs_runs_with_its_module_allowed(tmp_path, sqlite_url, capsys):
    fam = family_file(
        tmp_path,
        {
            "name": "counting",
            "base": {"env_id": "Counting-v0", "entry_point": "tests.fixtures.envs:CountingEnv"},
            "variants": [{"name": "default"}],
        },
    )
    args = ["family", "tune", str(fam), "--trials", "1", "--validation-seeds", "0"]
    allow = ["--allow-entry-points", "tests.fixtures", "--storage", sqlite_url]
    code, _out, err = run_cli([*args, *allow, *TINY], capsys)
    assert code == 0, err
    assert trials(sqlite_url, "counting-default-ppo")
