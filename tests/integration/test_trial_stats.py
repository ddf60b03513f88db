"""The SQL reads of ``autorl.study.stats`` and ``trial_rows`` agree with Optuna's view of a study.

A study holds every kind of trial the service meets (completed, pruned, failed with and
without a reason, infeasible, running, queued, an infinite value); the aggregates and pages
read with SQL must equal what ``autorl.study.accounting`` computes from ``get_trials()``,
on SQLite and on PostgreSQL (whose enum and float types differ).
"""

from __future__ import annotations

import math
import subprocess
import sys

import optuna
import pytest
import sqlalchemy as sa
from optuna.trial import TrialState

from autorl.study import attrs, record
from autorl.study.accounting import best_trial, failure_counts, failure_reason, finished_count
from autorl.study.listing import list_studies
from autorl.study.queries import summarize
from autorl.study.stats import study_counts, study_ids
from autorl.study.storage import open_storage
from autorl.study.trial_rows import stored_trials, trial_id_of, trial_page
from tests.unit.test_search_budget import make_config


def _fill(study: optuna.Study) -> None:
    def finished(state: TrialState, value: float | None = None, reason: str | None = None):
        trial = study.ask({"lr": optuna.distributions.FloatDistribution(1e-5, 1e-2, log=True)})
        trial.set_user_attr(attrs.SOURCE, "sampler")
        trial.set_user_attr(attrs.ENV_STEPS, 1000)
        trial.set_user_attr(attrs.WALL_S, 1.5)
        if reason is not None:
            trial.set_user_attr(attrs.FAILURE_REASON, reason)
        study.tell(trial, value, state=state)

    for value in (10.0, 250.5, -3.0):
        finished(TrialState.COMPLETE, value)
    finished(TrialState.PRUNED)
    finished(TrialState.PRUNED, reason="timeout")
    finished(TrialState.FAIL, reason="diverged")
    finished(TrialState.FAIL, reason="infeasible")
    finished(TrialState.FAIL)  # a dead worker's trial: re-queued, not counted
    study.ask()  # running
    study.enqueue_trial({"lr": 0.001})  # waiting, with the parameters it will get


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request, tmp_path):
    url = (
        f"sqlite:///{tmp_path / 'stats.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    return open_storage(url)


def test_counts_and_best_equal_optunas_view(storage):
    study = optuna.create_study(study_name="mixed", storage=storage, direction="maximize")
    _fill(study)
    empty = optuna.create_study(study_name="empty", storage=storage, direction="maximize")
    ids = study_ids(storage)
    counts = study_counts(storage, [ids["mixed"], ids["empty"]])
    trials = study.get_trials(deepcopy=False)

    mixed = counts[ids["mixed"]]
    assert mixed.finished == finished_count(trials) == 6
    assert mixed.failures == failure_counts(trials)
    assert mixed.best == best_trial(trials).value == 250.5
    assert (mixed.running, mixed.waiting, mixed.total) == (1, 1, len(trials))
    assert counts[ids["empty"]].total == 0 and counts[ids["empty"]].best is None
    assert empty.get_trials() == []


def test_an_infinite_value_is_the_best(storage):
    study = optuna.create_study(study_name="inf", storage=storage, direction="maximize")
    study.add_trial(optuna.trial.create_trial(value=5.0))
    study.add_trial(optuna.trial.create_trial(value=math.inf))
    study_id = study_ids(storage)["inf"]
    assert study_counts(storage, [study_id])[study_id].best == math.inf


def test_a_page_equals_the_same_slice_of_get_trials(storage):
    study = optuna.create_study(study_name="paged", storage=storage, direction="maximize")
    _fill(study)
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    study_id = study_ids(storage)["paged"]

    page = trial_page(storage, study_id, offset=2, limit=6)

    assert [row.number for row in page] == [t.number for t in trials[2:8]]
    for row, trial in zip(page, trials[2:8], strict=True):
        assert row.state == trial.state.name
        assert row.value == trial.value
        assert row.params == trial.params
        assert row.failure_reason == failure_reason(trial)
        assert row.user_attrs[attrs.ENV_STEPS] == 1000
    queued = trial_page(storage, study_id, offset=len(trials) - 1, limit=5)
    assert [(row.state, row.params) for row in queued] == [("WAITING", {"lr": 0.001})]
    assert trial_page(storage, study_id, offset=len(trials), limit=5) == []


def test_stored_trials_and_the_best_trial_id_equal_optunas_view(storage):
    study = optuna.create_study(study_name="rows", storage=storage, direction="maximize")
    _fill(study)
    study_id = study_ids(storage)["rows"]
    states = (TrialState.COMPLETE, TrialState.FAIL)
    expected = [t for t in study.get_trials(deepcopy=False) if t.state in states]

    rows = stored_trials(storage, study_id, states, (attrs.FAILURE_REASON,))

    assert [(r.number, r.state, r.value) for r in rows] == [
        (t.number, t.state.name, t.value) for t in expected
    ]
    for row, trial in zip(rows, expected, strict=True):
        assert row.params == trial.params
        assert row.distributions == {
            k: optuna.distributions.distribution_to_json(d) for k, d in trial.distributions.items()
        }
        assert row.user_attrs.get(attrs.FAILURE_REASON) == trial.user_attrs.get(
            attrs.FAILURE_REASON
        )
    best = best_trial(study.get_trials(deepcopy=False))
    assert trial_id_of(storage, study_id) == best._trial_id
    assert trial_id_of(storage, study_id, 4) == study.trials[4]._trial_id
    assert trial_id_of(storage, study_id, 99) is None


def test_the_listing_read_from_a_bare_engine_equals_each_loaded_studys_summary(storage):
    assert list_studies(storage) == []  # Optuna's tables exist, no study yet
    studies = []
    for name, budget in (("listed", 8), ("done", 6)):
        study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
        record.write_config(study, make_config().to_dict())
        record.write_budget(study, budget)
        _fill(study)
        studies.append(study)
    optuna.create_study(study_name="not-autorl", storage=storage)
    bare = sa.create_engine(storage.engine.url)
    try:
        rows = list_studies(bare)
    finally:
        bare.dispose()
    assert rows == list_studies(storage) == [summarize(s) for s in studies]
    assert [(r.name, r.state, r.done, r.budget, r.best) for r in rows] == [
        ("listed", "running", 6, 8, 250.5),
        ("done", "done", 6, 6, 250.5),
    ]


def test_a_database_optuna_never_wrote_to_lists_no_study(tmp_path):
    assert list_studies(sa.create_engine(f"sqlite:///{tmp_path / 'fresh.db'}")) == []


def test_the_listing_imports_no_optuna():
    """What keeps ``autorl studies`` well under a second (Optuna and its Alembic: 0.6 s)."""
    code = (
        "import sys, autorl.db.engine, autorl.study.listing; "
        "sys.exit(' '.join(m for m in sys.modules if m.split('.')[0] in ('optuna', 'alembic')) "
        "or None)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
