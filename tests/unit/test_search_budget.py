"""The worker loop with a fake trainer: budgets, failures, recovery of dead workers."""

from __future__ import annotations

import math
import time

import optuna
import pytest
from optuna.trial import TrialState

from autorl.errors import StudyError, TrialFailure
from autorl.runtime.runner import WorkerOptions, run_worker
from autorl.spaces import load_space
from autorl.study import attrs
from autorl.study.accounting import finished_count
from autorl.study.config import StudyConfig
from autorl.study.factory import create_or_continue, set_budget
from autorl.study.storage import open_storage
from autorl.types import EvalSettings, Evaluation, FailureReason, SeedResult, TaskSpec

TIMESTEPS = 1000


def make_config(**changes) -> StudyConfig:
    base = dict(
        task=TaskSpec("CartPole-v1"),
        algo="ppo",
        space=load_space("ppo").to_dict(),
        timesteps=TIMESTEPS,
        evaluation=EvalSettings(n_evaluations=4, episodes=2),
        pruner="none",
        validation_seeds=0,
    )
    base.update(changes)
    return StudyConfig(**base)


def learning_rate(spec) -> float:
    lr = spec.config.sb3_kwargs["learning_rate"]
    return (
        lr["initial"]
        if isinstance(lr, dict) and "initial" in lr
        else (lr["value"] if isinstance(lr, dict) else lr)
    )


def fake_train(spec, report=None) -> SeedResult:
    """A cheap function of the parameters, reported like real training would be."""
    score = -abs(math.log10(learning_rate(spec)) + 3.5)
    curve = []
    for i in range(1, spec.evaluation.n_evaluations + 1):
        step = spec.timesteps * i // spec.evaluation.n_evaluations
        curve.append(Evaluation(step, score * i, 0.0, (score * i,)))
        if report is not None and not report(step, score * i):
            return SeedResult(spec.seed, score * i, tuple(curve), step, 0.0, pruned=True)
    return SeedResult(spec.seed, score, tuple(curve), spec.timesteps, 0.01)


def new_study(url, budget=4, **changes):
    storage = open_storage(url)
    study, _config, _ = create_or_continue("s", storage, make_config(**changes), budget)
    return study


def test_budget_is_exact_and_grows_on_resume(sqlite_url):
    study = new_study(sqlite_url, budget=4)
    assert run_worker(WorkerOptions(sqlite_url, "s"), train=fake_train) == 4
    assert finished_count(study.get_trials()) == 4
    first = [(t.number, t.value) for t in study.get_trials()]
    # A second run at the same budget does nothing; a larger budget adds exactly the difference.
    assert run_worker(WorkerOptions(sqlite_url, "s"), train=fake_train) == 0
    set_budget(study, 6)
    assert run_worker(WorkerOptions(sqlite_url, "s"), train=fake_train) == 2
    trials = study.get_trials()
    assert [(t.number, t.value) for t in trials[:4]] == first
    assert finished_count(trials) == 6
    for t in trials:
        assert t.user_attrs[attrs.CONFIG]["algo"] == "ppo"
        assert t.user_attrs[attrs.SEEDS][0]["seed"] == 0
        assert t.user_attrs[attrs.SOURCE] == "sampler"


def test_a_seeded_study_resumed_or_served_trial_by_trial_proposes_new_configurations(sqlite_url):
    # `autorl worker` runs one trial per study load; a resumed run loads the study again.
    # Neither may replay the random start-up proposals it made before (same sampler seed).
    study = new_study(sqlite_url, budget=4, sampler_seed=5)
    for _ in range(4):
        assert run_worker(WorkerOptions(sqlite_url, "s", max_trials=1), train=fake_train) == 1
    set_budget(study, 6)
    assert run_worker(WorkerOptions(sqlite_url, "s"), train=fake_train) == 2
    params = [tuple(sorted(t.params.items())) for t in study.get_trials()]
    assert len(set(params)) == 6
    # a new study with the same seed starts as the first did: a seed still reproduces a run
    again = create_or_continue("t", open_storage(sqlite_url), make_config(sampler_seed=5), 1)[0]
    run_worker(WorkerOptions(sqlite_url, "t"), train=fake_train)
    assert again.get_trials()[0].params == study.get_trials()[0].params


def test_failed_trials_have_a_reason_count_and_the_study_goes_on(sqlite_url):
    study = new_study(sqlite_url, budget=5)
    calls = []

    def sometimes_diverges(spec, report=None):
        calls.append(spec)
        if len(calls) % 2 == 1:
            raise TrialFailure(FailureReason.DIVERGED, "NaN in policy parameters")
        return fake_train(spec, report)

    run_worker(WorkerOptions(sqlite_url, "s"), train=sometimes_diverges)
    trials = study.get_trials()
    assert finished_count(trials) == 5
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert len(failed) == 3
    assert {t.user_attrs[attrs.FAILURE_REASON] for t in failed} == {"diverged"}
    assert all("NaN" in t.user_attrs[attrs.FAILURE_MESSAGE] for t in failed)


def test_a_failed_seed_runs_env_steps_count_in_the_studys_compute(sqlite_url):
    study = new_study(sqlite_url, budget=1)

    def diverges_after_two_evaluations(spec, report=None):
        for i in (1, 2):
            report(spec.timesteps * i // spec.evaluation.n_evaluations, -1.0)
        raise TrialFailure(FailureReason.DIVERGED, "NaN in policy parameters")

    run_worker(WorkerOptions(sqlite_url, "s"), train=diverges_after_two_evaluations)
    (failed,) = study.get_trials()
    assert failed.user_attrs[attrs.FAILURE_REASON] == "diverged"
    # at least the steps up to its last evaluation: the compute equal-steps comparisons count
    assert (
        failed.user_attrs[attrs.ENV_STEPS]
        == 2 * TIMESTEPS // make_config().evaluation.n_evaluations
    )


def test_trial_of_a_dead_local_worker_is_failed_requeued_and_not_counted(sqlite_url):
    study = new_study(sqlite_url, budget=3)
    orphan = study.ask()
    lr = load_space("ppo").sample(orphan, "discrete")
    orphan.set_user_attr(attrs.WORKER, f"{__import__('socket').gethostname()}:999999")
    run_worker(WorkerOptions(sqlite_url, "s"), train=fake_train)
    trials = study.get_trials()
    assert trials[0].state == TrialState.FAIL
    assert trials[0].user_attrs[attrs.FAILURE_REASON] == "killed"
    assert "999999 died mid-trial; queued again" in trials[0].user_attrs[attrs.FAILURE_MESSAGE]
    requeued = [t for t in trials if t.user_attrs.get(attrs.REQUEUED_FROM) == 0]
    assert len(requeued) == 1
    assert requeued[0].state == TrialState.COMPLETE
    assert requeued[0].params == trials[0].params == lr
    assert finished_count(trials) == 3


def test_a_dead_workers_trial_whose_retries_are_spent_says_so_and_is_not_queued(sqlite_url):
    study = new_study(sqlite_url, budget=2)
    orphan = study.ask()
    load_space("ppo").sample(orphan, "discrete")
    orphan.set_user_attr(attrs.WORKER, f"{__import__('socket').gethostname()}:999999")
    orphan.set_user_attr(attrs.RETRIES, 2)  # the study's max_retries
    run_worker(WorkerOptions(sqlite_url, "s"), train=fake_train)
    trials = study.get_trials()
    assert trials[0].user_attrs[attrs.FAILURE_REASON] == "killed"
    assert "each of its 3 tries" in trials[0].user_attrs[attrs.FAILURE_MESSAGE]
    assert not [t for t in trials if t.user_attrs.get(attrs.REQUEUED_FROM) == 0]
    assert finished_count(trials) == 2 and len(trials) == 3  # not counted; two new trials


def test_stale_heartbeat_of_another_machine_is_requeued(sqlite_url):
    study = new_study(sqlite_url, budget=2)
    orphan = study.ask()
    load_space("ppo").sample(orphan, "discrete")
    orphan.set_user_attr(attrs.WORKER, "elsewhere:1")
    study._storage.record_heartbeat(orphan._trial_id)
    time.sleep(3.2)  # grace period is 2 s in tests
    run_worker(WorkerOptions(sqlite_url, "s"), train=fake_train)
    trials = study.get_trials()
    assert trials[0].state == TrialState.FAIL
    assert any(t.user_attrs.get(attrs.REQUEUED_FROM) == 0 for t in trials)
    assert finished_count(trials) == 2


def test_env_failing_every_trial_stops_the_study_with_its_error(sqlite_url):
    study = new_study(sqlite_url, budget=10)

    def broken_env(spec, report=None):
        raise TrialFailure(FailureReason.ENV_ERROR, "RuntimeError: the simulator crashed")

    with pytest.raises(StudyError, match="simulator crashed"):
        run_worker(WorkerOptions(sqlite_url, "s"), train=broken_env)
    assert finished_count(study.get_trials()) == 3


def test_continuing_with_other_settings_is_refused_and_changes_nothing(sqlite_url):
    study = new_study(sqlite_url, budget=2)
    run_worker(WorkerOptions(sqlite_url, "s"), train=fake_train)
    before = [(t.number, t.value) for t in study.get_trials()]
    with pytest.raises(StudyError, match="timesteps: stored 1000, asked 2000"):
        create_or_continue("s", open_storage(sqlite_url), make_config(timesteps=2000), 5)
    after = optuna.load_study(study_name="s", storage=sqlite_url)
    assert [(t.number, t.value) for t in after.get_trials()] == before
    assert after.user_attrs["autorl.budget"] == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timesteps": 10}, "too small"),
        ({"seeds": 0}, "--seeds"),
        ({"pruner": "magic"}, "--pruner"),
    ],
)
def test_absurd_settings_are_refused_before_anything_is_stored(sqlite_url, changes, message):
    with pytest.raises(StudyError, match=message):
        create_or_continue("s", open_storage(sqlite_url), make_config(**changes), 5)
    assert optuna.get_all_study_summaries(open_storage(sqlite_url)) == []


@pytest.mark.parametrize("budget", [0, -3, 10**9])
def test_absurd_budgets_are_refused(sqlite_url, budget):
    with pytest.raises(StudyError, match="--trials"):
        create_or_continue("s", open_storage(sqlite_url), make_config(), budget)


def test_trial_time_limit_is_absolute_then_relative_to_the_typical_trial(sqlite_url):
    new_study(sqlite_url, budget=5, trial_timeout_s=600.0)
    limits = []

    def recording(spec, report=None):
        limits.append(spec.max_wall_s)
        return fake_train(spec, report)

    run_worker(WorkerOptions(sqlite_url, "s"), train=recording)
    # Before three finished trials only the absolute limit holds; then 5 x the median trial
    # (a few milliseconds here), floored at 30 s.
    assert all(600.0 - 1 < x <= 600.0 for x in limits[:3])
    assert all(29.0 < x <= 30.0 for x in limits[3:])


def test_a_timeout_fails_the_trial_with_its_reason(sqlite_url):
    study = new_study(sqlite_url, budget=2, trial_timeout_s=0.5)

    def slow(spec, report=None):
        raise TrialFailure(FailureReason.TIMEOUT, f"ran past its {spec.max_wall_s:g} s limit")

    run_worker(WorkerOptions(sqlite_url, "s"), train=slow)
    reasons = {t.user_attrs[attrs.FAILURE_REASON] for t in study.get_trials()}
    assert reasons == {"timeout"}


def test_a_cancelled_study_is_not_continued_and_keeps_its_budget(sqlite_url):
    from autorl.runtime.submit import resume_study, start_study
    from autorl.study.attrs import STUDY_STATE

    study = new_study(sqlite_url, budget=2)
    study.set_user_attr(STUDY_STATE, "cancelled")
    with pytest.raises(StudyError, match="was cancelled"):
        start_study("s", sqlite_url, make_config(), 5)
    with pytest.raises(StudyError, match="was cancelled"):
        resume_study("s", sqlite_url, 5)
    assert study.user_attrs["autorl.budget"] == 2


def test_a_study_runs_at_most_its_concurrent_trials_over_all_workers(sqlite_url):
    from autorl.runtime.scheduler import next_study

    study = new_study(sqlite_url, budget=3, max_concurrent_trials=1)
    elsewhere = study.ask()  # another worker's running trial (alive: it is not recovered)
    storage = open_storage(sqlite_url)
    assert run_worker(WorkerOptions(sqlite_url, "s"), train=fake_train) == 0
    assert next_study(storage) is None  # the pool skips it while the limit is taken
    study.tell(elsewhere, 1.0)
    assert next_study(storage) == "s"
    assert run_worker(WorkerOptions(sqlite_url, "s"), train=fake_train) == 2


def test_a_pool_recovers_a_dead_workers_last_trial_that_no_claim_would_reach(sqlite_url):
    import socket
    import subprocess

    from autorl.runtime.loop import _recovered_stale
    from autorl.runtime.scheduler import next_study

    study = new_study(sqlite_url, budget=1)
    last = study.ask()  # the budget's last trial, its worker gone
    gone = subprocess.Popen(["true"])
    gone.wait()
    worker = f"{socket.gethostname()}:{gone.pid}"
    study._storage.set_trial_user_attr(last._trial_id, attrs.WORKER, worker)
    storage = open_storage(sqlite_url)
    assert next_study(storage) is None  # full: no worker would claim it
    assert _recovered_stale(storage, sqlite_url) == 1
    assert [t.state for t in study.get_trials()] == [TrialState.FAIL, TrialState.WAITING]
    assert next_study(storage) == "s"


def test_studies_with_different_sampler_seeds_propose_different_configurations():
    # seeds were sampler_seed + worker index: study 1's first worker replayed study 0's second
    from autorl.study.factory import make_sampler

    def first_proposals(sampler_seed: int, worker_index: int) -> list[float]:
        config = make_config(sampler_seed=sampler_seed)
        study = optuna.create_study(sampler=make_sampler(config, 16, worker_index))
        return [learning_rate_of(study.ask()) for _ in range(3)]

    def learning_rate_of(trial) -> float:
        return trial.suggest_float("learning_rate", 1e-5, 1e-2, log=True)

    streams = {(s, w): first_proposals(s, w) for s in (0, 1, 2, -1) for w in (0, 1, 2)}
    assert len({tuple(v) for v in streams.values()}) == len(streams)  # no two alike
    assert first_proposals(0, 1) == streams[(0, 1)]  # and reproducible
