"""A trial's suggestions and attributes written in one transaction store what Optuna's
one-write-per-call path stores, on RDB storages and (one by one) on any other."""

from __future__ import annotations

import optuna
import pytest
from sqlalchemy import event

from autorl.runtime.runner import WorkerOptions, run_worker
from autorl.spaces import load_space
from autorl.study.storage import open_storage
from autorl.study.writes import one_transaction


def _sample(trial: optuna.Trial) -> dict:
    params = load_space("ppo").sample(trial, "discrete")
    trial.set_user_attr("config", {"n": len(params)})
    trial.set_user_attr("source", "sampler")
    return params


def _stored(study: optuna.Study, number: int) -> tuple[dict, dict, dict]:
    trial = study.get_trials(deepcopy=False)[number]
    return trial.params, trial.distributions, trial.user_attrs


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_one_commit_stores_what_a_commit_per_write_stores(backend, tmp_path, request):
    url = (
        f"sqlite:///{tmp_path / 'w.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    storage = open_storage(url)
    sampler = optuna.samplers.RandomSampler(seed=3)
    study = optuna.create_study(study_name="w", storage=storage, sampler=sampler)
    commits = []
    event.listen(storage.engine, "commit", lambda *_: commits.append(1))
    plain = study.ask()
    _sample(plain)  # the reference: Optuna's own path, one commit per write
    plain_commits, commits[:] = len(commits), []
    batched = study.ask()
    with one_transaction(batched):
        params = _sample(batched)
        assert batched.params == params  # the trial reads its values back meanwhile
    writes = len(params) + 2
    assert plain_commits - len(commits) == writes - 1  # the same reads, and one write
    got, expected = _stored(study, 1), _stored(study, 0)
    assert set(got[0]) == set(expected[0]) and got[1].keys() == expected[1].keys()
    assert got[0] == params and got[2] == expected[2]
    assert all(got[1][name] == expected[1][name] for name in got[1])


def test_what_was_sampled_before_an_error_is_stored(tmp_path):
    study = optuna.create_study(storage=open_storage(f"sqlite:///{tmp_path / 'e.db'}"))
    trial = study.ask()
    with pytest.raises(RuntimeError), one_transaction(trial):
        trial.suggest_float("lr", 1e-5, 1e-2, log=True)
        trial.set_user_attr("source", "sampler")
        raise RuntimeError("the sampler broke")
    params, _, user_attrs = _stored(study, 0)
    assert set(params) == {"lr"} and user_attrs == {"source": "sampler"}


def test_an_incompatible_distribution_is_still_refused(tmp_path):
    study = optuna.create_study(storage=open_storage(f"sqlite:///{tmp_path / 'd.db'}"))
    study.ask().suggest_float("x", 0.0, 1.0)
    later = study.ask()
    with pytest.raises(ValueError), one_transaction(later):
        later.suggest_categorical("x", ["a", "b"])
    assert _stored(study, 1)[0] == {}  # nothing of the refused batch landed


def test_a_storage_without_batch_writes_gets_each_write(tmp_path):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))  # in memory
    trial = study.ask()
    with one_transaction(trial):
        params = _sample(trial)
    stored, _, user_attrs = _stored(study, 0)
    assert stored == params and user_attrs["source"] == "sampler"


def test_a_trial_writes_in_about_a_dozen_transactions_not_one_per_parameter(sqlite_url):
    """The worker's write transactions per trial (fake trainer, one seed, 4 evaluations): the
    claim, the sampled configuration, each report, the seed result, the outcome. One per
    parameter (Optuna's way, 19 for PPO) would put it above 30."""
    from tests.unit.test_search_budget import fake_train, new_study

    new_study(sqlite_url, budget=6, seeds=1)
    run_worker(WorkerOptions(sqlite_url, "s", max_trials=2), train=fake_train)  # set-up
    engine, wrote = open_storage(sqlite_url).engine, []

    def statement(conn, _cursor, text, *_args) -> None:
        if text.lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            conn.info["wrote"] = True

    def commit(conn) -> None:
        if conn.info.pop("wrote", False):
            wrote.append(1)

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        assert run_worker(WorkerOptions(sqlite_url, "s"), train=fake_train) == 4
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)
    assert len(wrote) / 4 <= 14


def test_a_finished_trial_refuses_the_batch_and_keeps_what_it_stored(sqlite_url):
    study = optuna.create_study(storage=open_storage(sqlite_url))
    trial = study.ask()
    trial.set_user_attr("source", "sampler")
    study.tell(trial, 1.0)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError), one_transaction(trial):
        trial.storage.set_trial_user_attr(trial._trial_id, "source", "changed")
    assert _stored(study, 0)[2] == {"source": "sampler"}


def test_a_batch_is_a_few_statements_whatever_its_size(sqlite_url):
    storage = open_storage(sqlite_url)
    study = optuna.create_study(storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
    study.ask().suggest_float("unrelated", 0.0, 1.0)
    trial, statements = study.ask(), []
    with one_transaction(trial):
        params = _sample(trial)
        event.listen(storage.engine, "before_cursor_execute", lambda *_: statements.append(1))
    assert len(params) > 10 and len(statements) <= 5


def _tpe_study(url: str, name: str) -> optuna.Study:
    """A study of 6 finished PPO trials (and one running), proposed by autorl's TPE."""
    from autorl.study.factory import tpe

    study = optuna.create_study(storage=open_storage(url), study_name=name, sampler=tpe(0, 3))
    for i in range(7):
        trial = study.ask()
        _sample(trial)
        if i < 6:  # the last one keeps running: the constant liar counts it
            study.tell(trial, float(i % 3))
    return study


def test_the_sampler_proposes_from_one_read_what_it_proposes_from_its_own_reads(sqlite_url):
    shared, plain = _tpe_study(sqlite_url, "shared"), _tpe_study(sqlite_url, "plain")
    seen = shared.get_trials(deepcopy=False)
    trial = shared.ask()
    with one_transaction(trial, seen):
        proposed = _sample(trial)
    assert proposed == _sample(plain.ask())
    assert proposed == _stored(shared, trial.number)[0]


def test_a_worker_reads_the_study_trials_once_per_trial(sqlite_url, monkeypatch):
    """TPE with the constant liar read every trial of the study 3-4 times per proposal, and
    Optuna's ask once more for a queued trial: each read is O(trials in the study)."""
    from tests.unit.test_search_budget import fake_train, new_study

    new_study(sqlite_url, budget=16, seeds=1)
    run_worker(WorkerOptions(sqlite_url, "s", max_trials=12), train=fake_train)  # TPE proposes
    reads, read = [], optuna.storages.RDBStorage._get_trials

    def counted(self, *args, **kwargs):
        reads.append(1)
        return read(self, *args, **kwargs)

    monkeypatch.setattr(optuna.storages.RDBStorage, "_get_trials", counted)
    assert run_worker(WorkerOptions(sqlite_url, "s"), train=fake_train) == 4
    assert len(reads) / 4 <= 1.5  # the claim's read (and the set-up's)
