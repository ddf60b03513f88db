"""Racing through the real worker loop and storage (SQLite), with a fake trainer."""

from __future__ import annotations

import math
from dataclasses import replace

import optuna
import pytest
from optuna.trial import TrialState

from autorl import db
from autorl.errors import StudyError
from autorl.runtime.runner import WorkerOptions, run_worker
from autorl.study import attrs
from autorl.study.accounting import best_trial, learning_area, total_compute
from autorl.study.config import RaceSettings, StudyConfig
from autorl.study.factory import create_or_continue, set_budget
from autorl.study.listing import list_studies
from autorl.study.queries import best_config
from autorl.study.racing import RacingPruner
from autorl.study.stats import study_counts
from autorl.study.storage import open_storage
from autorl.study.trial_rows import trial_id_of
from autorl.types import EvalSettings, Evaluation, SeedResult, TaskSpec
from tests.unit.test_db_repo import FEATURES
from tests.unit.test_search_budget import TIMESTEPS, learning_rate, make_config

RACE = RaceSettings(min_seeds=3, max_seeds=3)


def seeded_score(spec) -> float:
    """Best near lr 10^-3.5; seed 1 of every configuration scores 3 lower (known noise)."""
    return -abs(math.log10(learning_rate(spec)) + 3.5) * 10 - (3.0 if spec.seed == 1 else 0.0)


def fake_train(spec, report=None) -> SeedResult:
    score = seeded_score(spec)
    curve = []
    for i in range(1, spec.evaluation.n_evaluations + 1):
        step = spec.timesteps * i // spec.evaluation.n_evaluations
        curve.append(Evaluation(step, score, 0.0, (score,)))
        if report is not None and not report(step, score):
            return SeedResult(spec.seed, score, tuple(curve), step, 0.0, pruned=True)
    return SeedResult(spec.seed, score, tuple(curve), spec.timesteps, 0.01)


def racing_study(url, budget=8, **changes):
    config = make_config(race=RACE, sampler_seed=3, **changes)
    study, _, _ = create_or_continue("race", open_storage(url), config, budget)
    return study


def test_a_racing_study_spends_seeds_on_promising_configurations_only(sqlite_url):
    study = racing_study(sqlite_url, budget=8)
    assert run_worker(WorkerOptions(sqlite_url, "race"), train=fake_train) == 8
    trials = study.get_trials()
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    runs = {t.number: len(t.user_attrs[attrs.SEEDS]) for t in done}
    assert runs[0] == 3  # no incumbent yet: the first configuration sets the bar
    assert 1 in runs.values()  # poorer ones stopped after one seed
    for t in done:
        seeds = t.user_attrs[attrs.SEEDS]
        assert [s["seed"] for s in seeds] == list(range(len(seeds)))
        assert t.user_attrs[attrs.SEED_SCORES] == [s["score"] for s in seeds]
        assert t.value == pytest.approx(sum(t.user_attrs[attrs.SEED_SCORES]) / len(seeds))
        assert t.user_attrs[attrs.ENV_STEPS] == TIMESTEPS * len(seeds)
        assert t.user_attrs[attrs.SELECTABLE] is (len(seeds) == 3)
        assert t.user_attrs[attrs.RACE]
    lone = next(t for t in done if len(t.user_attrs[attrs.SEEDS]) == 1)
    assert "cannot beat the incumbent after 1 seed" in lone.user_attrs[attrs.RACE]
    # every seed run is counted in the study's compute
    assert total_compute(trials)["env_steps"] == TIMESTEPS * sum(runs.values())


def test_the_best_is_never_a_one_seed_score_in_python_and_in_sql(sqlite_url):
    study = racing_study(sqlite_url, budget=8)
    run_worker(WorkerOptions(sqlite_url, "race"), train=fake_train)
    best = best_trial(study.get_trials())
    assert len(best.user_attrs[attrs.SEEDS]) == 3
    # A one-seed score above every aggregate (with ``lcb``, or a race a worker left early)
    lucky = study.get_trials()[-1]
    study.add_trial(
        optuna.trial.create_trial(
            params=lucky.params,
            distributions=lucky.distributions,
            value=best.value + 100,
            user_attrs={**lucky.user_attrs, attrs.SELECTABLE: False},
        )
    )
    trials = study.get_trials()
    assert best_trial(trials).number == best.number
    storage = open_storage(sqlite_url)
    study_id = storage.get_study_id_from_name("race")
    assert study_counts(storage, [study_id])[study_id].best == best.value
    assert storage.get_trial(trial_id_of(storage, study_id)).number == best.number
    assert list_studies(storage)[0].best == best.value
    chosen = best_config(study, sqlite_url)
    assert chosen.trial == best.number and chosen.selectable and chosen.train_seeds == [0, 1, 2]
    one_seed = best_config(study, sqlite_url, trials[-1].number)
    assert not one_seed.selectable


def test_a_killed_seed_run_is_rerun_and_the_finished_ones_are_taken_over(sqlite_url):
    study = racing_study(sqlite_url, budget=1)
    calls: list[int] = []

    def killed_on_seed_2(spec, report=None):
        calls.append(spec.seed)
        if spec.seed == 2:
            raise KeyboardInterrupt  # the worker stops mid-trial (Ctrl-C / SIGTERM path)
        return fake_train(spec, report)

    with pytest.raises(KeyboardInterrupt):
        run_worker(WorkerOptions(sqlite_url, "race"), train=killed_on_seed_2)
    killed = study.get_trials()[0]
    assert killed.state == TrialState.FAIL and calls == [0, 1, 2]
    assert killed.user_attrs[attrs.ENV_STEPS] == 2 * TIMESTEPS  # what it really spent

    calls.clear()
    assert run_worker(WorkerOptions(sqlite_url, "race"), train=_counting(calls)) == 1
    rerun = study.get_trials()[1]
    assert rerun.state == TrialState.COMPLETE and calls == [2]  # only the interrupted seed
    seeds = rerun.user_attrs[attrs.SEEDS]
    assert [s.get("from_trial") for s in seeds] == [0, 0, None]
    assert rerun.user_attrs[attrs.ENV_STEPS] == TIMESTEPS  # taken-over runs counted once
    assert total_compute(study.get_trials())["env_steps"] == 3 * TIMESTEPS
    assert rerun.params == killed.params


def _counting(calls):
    def train(spec, report=None):
        calls.append(spec.seed)
        return fake_train(spec, report)

    return train


def test_a_later_seed_run_is_pruned_against_first_seed_runs_and_loses_its_race(sqlite_url):
    study = racing_study(sqlite_url, budget=6, pruner="median")
    run_worker(WorkerOptions(sqlite_url, "race"), train=fake_train)  # first-seed peers
    best = best_trial(study.get_trials())
    set_budget(study, 7)
    # another configuration as good as the best on seed 0: it earns seed 1
    study.enqueue_trial({**best.params, "learning_rate": best.params["learning_rate"] * 1.001})

    def seed_1_never_learns(spec, report=None):
        if spec.seed != 1:
            return fake_train(spec, report)
        curve = []
        for i in range(1, spec.evaluation.n_evaluations + 1):
            step = spec.timesteps * i // spec.evaluation.n_evaluations
            curve.append(Evaluation(step, -500.0, 0.0, (-500.0,)))
            if not report(step, -500.0):
                return SeedResult(1, -500.0, tuple(curve), step, 0.0, pruned=True)
        raise AssertionError("seed 1 was never pruned")

    run_worker(WorkerOptions(sqlite_url, "race"), train=seed_1_never_learns)
    trial = study.get_trials()[-1]
    assert trial.state == TrialState.COMPLETE
    seeds = trial.user_attrs[attrs.SEEDS]
    assert [s["pruned"] for s in seeds] == [False, True]
    assert seeds[1]["env_steps"] < TIMESTEPS  # stopped at the first evaluation past warm-up
    assert trial.user_attrs[attrs.RACE] == "seed run 1 pruned"
    assert trial.user_attrs[attrs.SELECTABLE] is False
    assert best_trial(study.get_trials()).number == best.number


def test_seeds_k_without_racing_runs_every_seed(sqlite_url):
    config = make_config(seeds=2, sampler_seed=3)
    study, _, _ = create_or_continue("fixed", open_storage(sqlite_url), config, 3)
    run_worker(WorkerOptions(sqlite_url, "fixed"), train=fake_train)
    for t in study.get_trials():
        assert len(t.user_attrs[attrs.SEEDS]) == 2 and t.user_attrs[attrs.SELECTABLE]
        assert attrs.RACE not in t.user_attrs


def test_a_study_with_no_configuration_on_min_seeds_says_so_and_publishes_nothing(sqlite_url):
    study = racing_study(sqlite_url, budget=1)
    run_worker(WorkerOptions(sqlite_url, "race"), train=fake_train)
    only = study.get_trials()[0]
    other = racing_study(sqlite_url.replace(".db", "-2.db"), budget=1)
    other.add_trial(
        optuna.trial.create_trial(
            params=only.params,
            distributions=only.distributions,
            value=1.0,
            user_attrs={**only.user_attrs, attrs.SELECTABLE: False},
        )
    )
    with pytest.raises(StudyError, match=r"has run its 3 seeds yet .* never on fewer"):
        best_config(other, "here")


def test_continuing_a_study_keeps_its_seed_settings_unless_they_are_given(sqlite_url):
    from autorl.study.config import seed_fields

    storage = open_storage(sqlite_url)
    create_or_continue("old", storage, make_config(seeds=1), 2)  # made before racing
    fields, keep = seed_fields()  # the user gave no seed option
    _, config, created = create_or_continue("old", storage, make_config(**fields), 3, keep)
    assert not created and config.race is None and config.seeds == 1
    fields, keep = seed_fields(max_seeds=3)
    with pytest.raises(StudyError, match="race: stored None"):
        create_or_continue("old", storage, make_config(**fields), 3, keep)


def test_each_seed_run_is_evaluated_on_its_own_episodes_and_old_studies_replay_theirs(
    sqlite_url,
):
    seen: list[tuple[int, int]] = []

    def recording_train(spec, report=None):
        seen.append((spec.seed, spec.evaluation.seed))
        return fake_train(spec, report)

    evaluation = EvalSettings(n_evaluations=4, episodes=2, seed=10_000, per_run_episodes=True)
    study = racing_study(sqlite_url, budget=3, evaluation=evaluation)
    run_worker(WorkerOptions(sqlite_url, "race"), train=recording_train)
    # seed run k of every configuration: episodes 10000 + 2k, 10001 + 2k
    assert {(k, 10_000 + 2 * k) for k in range(3)} == set(seen)
    stored = StudyConfig.from_dict(study.user_attrs[attrs.STUDY_CONFIG])
    assert stored.evaluation.run_seed_step == 2

    # a study stored before the setting existed replays the same episodes on every seed run
    old = stored.to_dict()
    del old["evaluation"]["per_run_episodes"]
    assert StudyConfig.from_dict(old).evaluation.for_run(2).seed == 10_000


def test_the_race_reads_first_seeds_of_running_trials_before_any_incumbent(sqlite_url):
    from autorl.study.racing import race_state

    study = racing_study(sqlite_url, budget=4)
    running = study.ask()  # another worker's trial, its first seed run stored, racing on
    running.set_user_attr(attrs.SEEDS, [{"seed": 0, "score": -98.0, "pruned": False}])
    pruned_first = study.ask()
    pruned_first.set_user_attr(attrs.SEEDS, [{"seed": 0, "score": -1500.0, "pruned": True}])
    asking = study.ask()
    bar = race_state(study, exclude=asking.number)
    assert bar.incumbent is None and bar.peers == (-98.0,)


def test_a_configuration_proposed_again_takes_over_the_seed_runs_it_already_has(sqlite_url):
    study = racing_study(sqlite_url, budget=2)
    calls: list[int] = []
    assert run_worker(WorkerOptions(sqlite_url, "race", max_trials=1), train=fake_train) == 1
    first = study.get_trials()[0]
    study.enqueue_trial(first.params)  # TPE proposing a point it has tried is not rare
    assert run_worker(WorkerOptions(sqlite_url, "race"), train=_counting(calls)) == 1
    again = study.get_trials()[1]
    assert calls == []  # nothing trained: same configuration, same seeds
    assert again.value == first.value and again.user_attrs[attrs.ENV_STEPS] == 0
    assert [s["from_trial"] for s in again.user_attrs[attrs.SEEDS]] == [0, 0, 0]
    assert total_compute(study.get_trials())["env_steps"] == 3 * TIMESTEPS


def test_a_study_made_before_per_run_episodes_continues_with_its_one_set(sqlite_url):
    storage = open_storage(sqlite_url)
    old = make_config(race=RACE, evaluation=EvalSettings(n_evaluations=4, episodes=2))
    study, _, _ = create_or_continue("old", storage, old, 2)
    stored = study.user_attrs[attrs.STUDY_CONFIG]
    del stored["evaluation"]["per_run_episodes"]  # as a study stored before the setting
    study.set_user_attr(attrs.STUDY_CONFIG, stored)
    asked = make_config(race=RACE, evaluation=EvalSettings(4, 2, per_run_episodes=True))
    _, config, created = create_or_continue("old", storage, asked, 4)  # `autorl tune` again
    assert not created and config.evaluation.run_seed_step == 0


def capped_train(spec, report=None) -> SeedResult:
    """Every configuration ends at the cap (500); how early it gets there depends on its
    learning rate (CartPole's tie at the ceiling)."""
    speed = 1.0 / (1.0 + abs(math.log10(learning_rate(spec)) + 3.5))
    n = spec.evaluation.n_evaluations
    curve = []
    for i in range(1, n + 1):
        mean = 500.0 if i == n else min(500.0, 500.0 * speed * i / (n - 1) * 2)
        curve.append(Evaluation(spec.timesteps * i // n, mean, 0.0, (mean,)))
        if report is not None and not report(curve[-1].step, mean):
            return SeedResult(spec.seed, mean, tuple(curve), curve[-1].step, 0.0, pruned=True)
    return SeedResult(spec.seed, 500.0, tuple(curve), spec.timesteps, 0.01)


def test_configurations_tied_at_the_ceiling_race_on_their_learning_curves(sqlite_url):
    study = racing_study(sqlite_url, budget=8, pruner="none")
    run_worker(WorkerOptions(sqlite_url, "race"), train=capped_train)
    trials = study.get_trials()
    three = [t for t in trials if len(t.user_attrs[attrs.SEEDS]) == 3]
    assert len(three) >= 2  # the first incumbent, and one that ties it with a higher curve
    areas = {t.number: learning_area(t) for t in three}
    best = best_trial(trials)
    assert areas[best.number] == max(areas.values())
    storage = open_storage(sqlite_url)
    study_id = storage.get_study_id_from_name("race")
    assert storage.get_trial(trial_id_of(storage, study_id)).number == best.number
    assert best_config(study, sqlite_url).trial == best.number
    # the first configuration to run 3 seeds was overtaken on its curve, not on its score
    assert min(three, key=lambda t: t.number).number != best.number
    assert {t.value for t in three} == {500.0}
    stopped = [t for t in trials if len(t.user_attrs[attrs.SEEDS]) == 1]
    assert stopped and all("learning curve is lower" in t.user_attrs[attrs.RACE] for t in stopped)


def registered_random_return(url: str, task: TaskSpec, value: float) -> None:
    """The task as autorl registers it, its random policy scoring ``value``."""
    record = db.register_task(url, task, None)
    db.set_features(url, record.key, replace(FEATURES, random_return_mean=value))


def test_below_the_random_policy_nothing_races_until_the_last_trial_re_races_the_best(sqlite_url):
    study = racing_study(sqlite_url, budget=6)
    registered_random_return(sqlite_url, TaskSpec("CartPole-v1"), 5.0)  # above every score
    run_worker(WorkerOptions(sqlite_url, "race"), train=fake_train)
    trials = sorted(study.get_trials(), key=lambda t: t.number)
    first = trials[:-1]
    assert all(len(t.user_attrs[attrs.SEEDS]) == 1 for t in first)
    assert all("below the random policy's return 5" in t.user_attrs[attrs.RACE] for t in first)
    last = trials[-1]
    rerun = max(first, key=lambda t: t.value)
    assert last.user_attrs[attrs.SOURCE] == f"rerace:{rerun.number}"
    assert last.params == rerun.params and len(last.user_attrs[attrs.SEEDS]) == 3
    assert last.user_attrs[attrs.SEEDS][0]["from_trial"] == rerun.number  # not trained again
    assert best_trial(trials).number == last.number
    assert len(trials) == 6  # the re-race is one of the budget's trials


def _finished(study, first_seed: list[float], seeds: list[float], selectable: bool) -> None:
    """A finished trial: its first seed's evaluations at steps 1..n, its seed scores."""
    study.add_trial(
        optuna.trial.create_trial(
            value=sum(seeds) / len(seeds),
            intermediate_values=dict(enumerate(first_seed, start=1)),
            user_attrs={
                attrs.SEEDS: [{"score": s, "pruned": False} for s in seeds],
                attrs.SELECTABLE: selectable,
            },
        )
    )


def test_a_slow_later_seed_is_not_pruned_while_its_other_seeds_keep_it_ahead():
    # MountainCar: most first seeds sit at the plateau (0); the incumbent (3 seeds, mean 23.5)
    # found the goal once. A configuration at 92 and 92 whose third seed has not found the goal
    # yet (-21 at mid-run) would still beat it at -21: the seed runs on.
    timesteps = 9
    study = optuna.create_study(direction="maximize")
    for _ in range(5):
        _finished(study, [0.0] * timesteps, [0.0], selectable=False)
    _finished(study, [0.0] * timesteps, [97.2, -25.0, -1.8], selectable=True)
    pruner = RacingPruner(optuna.pruners.NopPruner(), timesteps, max_seeds=3, method="mean")

    def third_seed_at(value: float, earlier: list[float]) -> bool:
        trial = study.ask()
        trial.set_user_attr(attrs.SEEDS, [{"score": s, "pruned": False} for s in earlier])
        for step in range(1, 6):  # past the warm-up (timesteps // 3) of seed index 2
            trial.report(value, 2 * timesteps + step)
        frozen = study._storage.get_trial(trial._trial_id)
        study.tell(trial, state=TrialState.FAIL)
        return pruner.prune(study, frozen)

    assert not third_seed_at(-21.0, [92.0, 92.0])  # (92 + 92 - 21) / 3 = 54 > 23.5
    assert third_seed_at(-21.0, [30.0, 20.0])  # (30 + 20 - 21) / 3 = 9.7: it has lost
    assert not third_seed_at(5.0, [30.0, 20.0])  # above the first-seed median: never pruned
