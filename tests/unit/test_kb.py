"""Knowledge-base files: idempotent import, and damaged or newer files refused untouched."""

from __future__ import annotations

import json

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from autorl import db
from autorl.knowledge.kb import KnowledgeBaseError, export_kb, import_kb
from autorl.spaces import load_space
from autorl.study.config import StudyConfig
from autorl.types import StudyLink, TaskSpec

LR = {"lr": FloatDistribution(1e-5, 1e-2, log=True)}


def seeded_storage(url: str) -> None:
    spec = TaskSpec("Pendulum-v1", env_kwargs={"g": 8.0})
    record = db.register_task(url, spec, "pendulum")
    study = optuna.create_study(study_name="p", storage=url, direction="maximize")
    study.set_user_attr("autorl.budget", 3)
    config = StudyConfig(spec, "ppo", load_space("ppo").to_dict(), timesteps=1000)
    study.set_user_attr("autorl.config", config.to_dict())
    study.add_trials(
        [
            create_trial(params={"lr": 1e-3}, distributions=LR, value=-180.0),
            create_trial(params={"lr": 1e-4}, distributions=LR, value=-900.0),
            create_trial(
                state=TrialState.FAIL,
                params={"lr": 9e-3},
                distributions=LR,
                user_attrs={"failure_reason": "diverged"},
            ),
        ]
    )
    db.link_study(url, StudyLink("p", record.key, "ppo", "pendulum"))


def test_export_then_import_twice_adds_everything_once(tmp_path, sqlite_url):
    seeded_storage(sqlite_url)
    path = tmp_path / "kb.jsonl"
    assert export_kb(sqlite_url, path) == {"task": 1, "study": 1, "trial": 3}
    other = f"sqlite:///{tmp_path / 'other.db'}"
    first = import_kb(other, path)
    assert (first.tasks, first.studies_created, first.trials_added) == (1, 1, 3)
    again = import_kb(other, path)
    assert (again.studies_created, again.trials_added, again.trials_skipped) == (0, 0, 3)
    study = optuna.load_study(study_name="p", storage=other)
    assert sorted(t.value for t in study.trials if t.value is not None) == [-900.0, -180.0]
    assert [t.user_attrs.get("failure_reason") for t in study.trials].count("diverged") == 1
    (record,) = db.list_tasks(other, family="pendulum")
    assert record.spec.env_kwargs == {"g": 8.0}
    assert db.get_study_link(other, "p").family == "pendulum"
    assert import_kb(sqlite_url, path).trials_added == 0, "the source already has every trial"


def _damage(path, how: str) -> None:
    lines = path.read_text().splitlines()
    if how == "truncated":
        lines = lines[:-2]
    elif how == "cut mid-line":
        lines[-1] = lines[-1][:10]
    elif how == "newer":
        header = json.loads(lines[0])
        header["version"] = 99
        lines[0] = json.dumps(header)
    elif how == "miscounted":
        del lines[-2]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "how, message",
    [
        ("truncated", "truncated"),
        ("cut mid-line", "not JSON"),
        ("newer", "newer than this autorl"),
        ("miscounted", "the file is damaged"),
    ],
)
def test_damaged_or_newer_files_are_refused_and_nothing_changes(tmp_path, sqlite_url, how, message):
    seeded_storage(sqlite_url)
    path = tmp_path / "kb.jsonl"
    export_kb(sqlite_url, path)
    _damage(path, how)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    seeded_storage(other)
    before = [(t.number, t.value) for t in optuna.load_study(study_name="p", storage=other).trials]
    with pytest.raises(KnowledgeBaseError, match=message):
        import_kb(other, path)
    after = [(t.number, t.value) for t in optuna.load_study(study_name="p", storage=other).trials]
    assert after == before and len(db.list_tasks(other)) == 1


def test_not_a_kb_file_is_refused(tmp_path, sqlite_url):
    path = tmp_path / "x.jsonl"
    path.write_text('{"kind": "row"}\n')
    with pytest.raises(KnowledgeBaseError, match="not an autorl knowledge-base file"):
        import_kb(sqlite_url, path)


def test_a_file_that_would_import_code_needs_its_module_allowed(tmp_path, sqlite_url):
    """A shared file's entry points are code: refused unless the importer allows their
    module (a worker serving, or a user resuming, the study would import it)."""
    path = tmp_path / "kb.jsonl"
    seeded_storage(sqlite_url)
    export_kb(sqlite_url, path)
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    for line in lines:  # the study's own task (what a worker serving it would build)
        if line["kind"] == "study":
            line["user_attrs"]["autorl.config"]["task"]["entry_point"] = "evil.payload:Env"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    other = f"sqlite:///{tmp_path / 'other.db'}"
    with pytest.raises(KnowledgeBaseError, match="--allow-entry-points evil"):
        import_kb(other, path)
    assert db.list_tasks(other) == []
    with pytest.raises(KnowledgeBaseError, match="not allowed"):
        import_kb(other, path, ["evil.pay"])  # a prefix counts at a module boundary only
    assert import_kb(other, path, ["evil"]).studies_created == 1


def test_a_fresh_storage_learns_from_the_seed_knowledge_base(tmp_path, sqlite_url, monkeypatch):
    from autorl.knowledge.history import past_tasks

    seeded_storage(sqlite_url)
    seed = tmp_path / "seed"
    seed.mkdir()
    export_kb(sqlite_url, seed / "pendulum.jsonl")
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert past_tasks(fresh, "ppo") == []
    monkeypatch.setenv("AUTORL_SEED_KB", str(seed))
    (task,) = past_tasks(fresh, "ppo")
    assert task.families == ("pendulum",) and len(task.trials) == 3
    assert sorted(t.score for t in task.trials if t.score is not None) == [-900.0, -180.0]
    assert past_tasks(fresh, "sac") == []
    # the storage's own copy of a task wins over the seed's
    assert len(past_tasks(sqlite_url, "ppo")) == 1


def test_family_best_of_a_family_without_completed_trials_recommends_nothing(sqlite_url):
    from autorl.knowledge.family_best import family_best

    spec = TaskSpec("Pendulum-v1")
    record = db.register_task(sqlite_url, spec, "empty")
    study = optuna.create_study(study_name="e", storage=sqlite_url, direction="maximize")
    config = StudyConfig(spec, "ppo", load_space("ppo").to_dict(), timesteps=1000)
    study.set_user_attr("autorl.config", config.to_dict())
    study.enqueue_trial({"learning_rate": 1e-3})
    db.link_study(sqlite_url, StudyLink("e", record.key, "ppo", "empty"))
    result = family_best(sqlite_url, "empty")
    assert result.per_task == {} and result.recommended is None


def _as_optuna_sees_it(trial) -> tuple:
    return (
        trial.number,
        trial.state,
        trial.value,
        trial.params,
        trial.distributions,
        {k: v for k, v in trial.intermediate_values.items() if v == v},  # NaN != NaN
        sorted(k for k, v in trial.intermediate_values.items() if v != v),
        {k: v for k, v in trial.user_attrs.items() if k != "kb_origin"},
    )


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_an_imported_trial_reads_back_as_the_exported_one(tmp_path, backend, request):
    source = f"sqlite:///{tmp_path / 'source.db'}"
    seeded_storage(source)
    study = optuna.load_study(study_name="p", storage=source)
    choice = {"lr": LR["lr"], "act": optuna.distributions.CategoricalDistribution(["a", "b"])}
    study.add_trials(
        [
            create_trial(
                state=TrialState.PRUNED,
                params={"lr": 2e-3, "act": "b"},
                distributions=choice,
                intermediate_values={10: -500.0, 20: float("-inf"), 30: float("nan")},
                user_attrs={"seeds": [{"seed": 0, "score": -500.0, "curve": [[10, -500.0, 1.0]]}]},
            ),
            create_trial(params={"lr": 5e-3, "act": "a"}, distributions=choice, value=float("inf")),
        ]
    )
    path = tmp_path / "kb.jsonl"
    export_kb(source, path)
    target = (
        request.getfixturevalue("pg_url")
        if backend == "postgres"
        else f"sqlite:///{tmp_path / 't.db'}"
    )
    import_kb(target, path)
    imported = optuna.load_study(study_name="p", storage=target).trials
    assert [_as_optuna_sees_it(t) for t in imported] == [
        _as_optuna_sees_it(t) for t in study.trials
    ]
    # the imported study goes on as any other: the next trial is numbered after them
    more = optuna.load_study(study_name="p", storage=target)
    assert more.ask().number == len(imported)


def test_the_history_read_in_sql_is_the_evidence_optuna_s_trials_give(sqlite_url):
    from autorl.knowledge.history import past_trial, stored_tasks

    seeded_storage(sqlite_url)
    study = optuna.load_study(study_name="p", storage=sqlite_url)
    study.add_trials(
        [
            create_trial(
                state=TrialState.PRUNED,
                params={"lr": 2e-3},
                distributions=LR,
                intermediate_values={10: -700.0, 20: -650.0},
            ),
            create_trial(
                state=TrialState.PRUNED,
                params={"lr": 3e-3},
                distributions=LR,
                intermediate_values={10: float("-inf")},
            ),
            create_trial(state=TrialState.FAIL, params={"lr": 4e-3}, distributions=LR),  # killed
            create_trial(
                params={"lr": 5e-4},
                distributions=LR,
                value=-150.0,
                user_attrs={"seeds": [{"pruned": False}, {"pruned": False}, {"pruned": True}]},
            ),
        ]
    )
    (task,) = stored_tasks(sqlite_url, "ppo")
    expected = [e for t in study.trials if (e := past_trial(t, "p")) is not None]
    assert sorted(task.trials, key=lambda e: e.number) == expected
    assert [e.score for e in expected] == [-180.0, -900.0, None, -650.0, None, -150.0]
    assert expected[-1].seeds == 2


def test_a_final_choice_is_stronger_evidence_for_its_finalists(sqlite_url):
    """A finalist's evidence is its score over training and final seeds, counted as that
    many seed runs; a final run that failed is left out; other trials read as before."""
    from autorl.knowledge.history import stored_tasks, table_from_storage
    from autorl.study.record import write_final

    seeded_storage(sqlite_url)
    study = optuna.load_study(study_name="p", storage=sqlite_url)
    final = {
        "chosen": 0,
        "finalists": [
            {
                "trial": 0,
                "train_scores": [-180.0],
                "final_scores": [-170.0, None, -160.0],
                "score": -170.0,
            },
        ],
    }
    write_final(study, final)
    (task,) = stored_tasks(sqlite_url, "ppo")
    by_number = {e.number: e for e in task.trials}
    assert (by_number[0].score, by_number[0].seeds) == (-170.0, 3)
    assert (by_number[1].score, by_number[1].seeds) == (-900.0, 1)
    table = table_from_storage(sqlite_url, "pendulum", "ppo")
    rows = {r.trial: r for task_rows in table.rows.values() for r in task_rows.values()}
    assert (rows[0].score, rows[0].seeds) == (-170.0, 3)
    assert (rows[1].score, rows[1].seeds) == (-900.0, 1)
