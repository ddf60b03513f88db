"""The final choice among a racing study's top configurations (real worker loop and SQLite,
a fake trainer with a known noise model)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from autorl.errors import StudyError
from autorl.runtime.final_choice import choose_final, finalists_of
from autorl.runtime.runner import WorkerOptions, run_worker
from autorl.runtime.validation import validate_best
from autorl.study.accounting import best_trial, published_trial
from autorl.study.config import FINAL_EVAL_SEED, FINAL_TRAIN_SEED, VALIDATION_TRAIN_SEED
from autorl.study.queries import best_config
from autorl.study.record import read as read_record
from autorl.types import SeedResult, TrainConfig
from tests.unit.test_racing_worker import fake_train, racing_study, seeded_score


class FakeRuns:
    """A process pool's ``map`` stand-in: scores runs with ``seeded_score``, minus
    ``penalty`` for the configuration of trial ``unlucky`` (it does not hold on new seeds),
    or fails them when ``fail`` is set."""

    def __init__(self, unlucky=None, penalty: float = 100.0, fail=False):
        self.unlucky = None if unlucky is None else TrainConfig.from_dict(config_of(unlucky))
        self.penalty, self.fail = penalty, fail
        self.specs: list = []

    def __call__(self, fn, specs):
        self.specs += specs
        out = []
        for spec in specs:
            hit = spec.config == self.unlucky
            if hit and self.fail:
                out.append(f"seed {spec.seed}: crashed: the process died")
                continue
            score = seeded_score(spec) - (self.penalty if hit else 0.0)
            out.append(SeedResult(spec.seed, score, (), spec.timesteps, 0.01))
        return out


def config_of(trial) -> dict:
    return trial.user_attrs["config"]


@pytest.fixture(scope="module")
def raced_db(tmp_path_factory) -> Path:
    """A racing study run to its budget of 16 trials (3 or more of them raced all 3 seeds),
    stored once for the module."""
    path = tmp_path_factory.mktemp("raced") / "autorl.db"
    url = f"sqlite:///{path}"
    racing_study(url, budget=16)
    assert run_worker(WorkerOptions(url, "race"), train=fake_train) == 16
    return path


@pytest.fixture
def raced(raced_db, sqlite_url):
    """A copy of the raced study (at ``sqlite_url``), its config asking for 3 finalists."""
    target = Path(sqlite_url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):  # the database and its write-ahead log
        if Path(f"{raced_db}{suffix}").exists():
            shutil.copy(f"{raced_db}{suffix}", f"{target}{suffix}")
    study = optuna.load_study(study_name="race", storage=sqlite_url)
    config = replace(read_config(study), finalists=3, final_seeds=2, validation_seeds=2)
    return study, config


def read_config(study):
    from autorl.study.config import StudyConfig

    return StudyConfig.from_dict(read_record(study).config)


def test_the_top_k_train_on_fresh_seeds_and_the_best_over_all_seeds_is_published(raced, sqlite_url):
    study, config = raced
    trials = study.get_trials()
    best = best_trial(trials)
    top = finalists_of(trials, 3)
    assert len(top) == 3 and top[0].number == best.number
    runs = FakeRuns(unlucky=best)  # the study's best fails on new seeds
    record = choose_final(study, config, "cpu", runs)

    assert [f["trial"] for f in record["finalists"]] == [t.number for t in top]
    assert sorted({s.seed for s in runs.specs}) == [FINAL_TRAIN_SEED, FINAL_TRAIN_SEED + 1]
    firsts = sorted({s.evaluation.seed for s in runs.specs})  # each final seed its own episodes
    assert firsts == [FINAL_EVAL_SEED, FINAL_EVAL_SEED + config.validation_episodes]
    assert record["chosen"] == top[1].number  # the runner-up holds on the new seeds
    assert record["env_steps"] == 6 * config.timesteps
    chosen = record["finalists"][1]
    seen = chosen["train_scores"] + chosen["final_scores"]
    assert chosen["score"] == pytest.approx(sum(seen) / len(seen))
    assert published_trial(study.get_trials(), record).number == top[1].number
    shown = best_config(study, sqlite_url)
    assert shown.trial == top[1].number and shown.final["chosen"] == top[1].number

    again = FakeRuns(unlucky=best)
    assert choose_final(study, config, "cpu", again) == record and again.specs == []


def _trial(number: int, value: float, seeds: int, lr: float, state=TrialState.COMPLETE):
    runs = [{"seed": k, "score": value, "pruned": False} for k in range(seeds)]
    trial = optuna.trial.create_trial(
        state=state,
        value=value if state == TrialState.COMPLETE else None,
        params={"learning_rate": lr},
        distributions={"learning_rate": FloatDistribution(1e-5, 1e-2, log=True)},
        user_attrs={"selectable": seeds >= 3, "seeds": runs, "seed_scores": [value] * seeds},
    )
    trial.number = number
    return trial


def test_finalists_are_the_incumbent_and_the_best_other_configurations_whatever_their_seeds():
    """On a task whose runs find the goal or do not, racing may stop a configuration after one
    seed just below its incumbent: it is a better finalist than a 3-seed one far below."""
    trials = [
        _trial(0, 94.6, 3, 3e-4),  # the incumbent
        _trial(1, 29.2, 3, 1e-3),  # raced to the end, found the goal on one seed of three
        _trial(2, 93.4, 1, 9e-5),  # one seed, just below the incumbent
        _trial(3, 93.4, 1, 9e-5),  # the same configuration again (it took over trial 2's run)
        _trial(4, 93.3, 1, 7e-5),
        _trial(5, 0.0, 0, 5e-5, state=TrialState.PRUNED),
        _trial(6, 99.0, 2, 2e-4, state=TrialState.FAIL),
    ]
    assert [t.number for t in finalists_of(trials, 3)] == [0, 2, 4]
    assert [t.number for t in finalists_of(trials, 4)] == [0, 2, 4, 1]
    assert finalists_of([t for t in trials if t.number != 0 and t.number != 1], 3) == []


def test_a_wider_choice_on_resume_runs_only_the_new_finalists(raced):
    study, config = raced
    first = FakeRuns()
    choose_final(study, replace(config, finalists=2), "cpu", first)
    wider = FakeRuns()
    record = choose_final(study, config, "cpu", wider)
    third = finalists_of(study.get_trials(), 3)[2]
    assert len(first.specs) == 4 and len(wider.specs) == 2
    assert all(s.config == TrainConfig.from_dict(config_of(third)) for s in wider.specs)
    assert len(record["finalists"]) == 3 and record["env_steps"] == 6 * config.timesteps


def test_the_test_scores_the_final_choice_and_says_what_chose_it(raced):
    study, config = raced
    best = best_trial(study.get_trials())
    runs = FakeRuns(unlucky=best)
    test = validate_best(study, config, "cpu", runs)
    final = read_record(study).final
    assert test["trial"] == final["chosen"] != best.number and test["final_choice"]
    entry = next(f for f in final["finalists"] if f["trial"] == final["chosen"])
    assert test["selection_score"] == entry["score"]
    trained = list(range(len(entry["train_scores"])))  # the seeds racing gave it
    assert test["selection_seeds"] == [*trained, FINAL_TRAIN_SEED, FINAL_TRAIN_SEED + 1]
    assert test["train_seeds"] == [VALIDATION_TRAIN_SEED, VALIDATION_TRAIN_SEED + 1]
    assert not {s.seed for s in runs.specs} & {0, 1, 2}  # no tuning seed is reused


def test_a_finalist_whose_final_run_fails_is_not_published(raced):
    study, config = raced
    best = best_trial(study.get_trials())
    record = choose_final(study, config, "cpu", FakeRuns(unlucky=best, fail=True))
    failed = next(f for f in record["finalists"] if f["trial"] == best.number)
    assert failed["final_scores"] == [None, None] and len(failed["failures"]) == 2
    assert record["chosen"] != best.number


def test_without_a_second_candidate_or_when_off_no_choice_is_made(raced):
    study, config = raced
    runs = FakeRuns()
    assert choose_final(study, replace(config, finalists=0), "cpu", runs) is None
    assert runs.specs == [] and read_record(study).final is None


def test_a_better_trial_after_the_choice_is_published_until_the_choice_is_made_again(raced):
    study, _ = raced
    trials = study.get_trials()
    best, runner_up = finalists_of(trials, 2)
    final = {"chosen": runner_up.number, "finalists": [{"trial": runner_up.number}]}
    # the study's best was not among the finalists (a resumed study found it later)
    assert published_trial(trials, final).number == best.number
    final["finalists"].append({"trial": best.number})
    assert published_trial(trials, final).number == runner_up.number


@pytest.mark.parametrize(("finalists", "final_seeds"), [(1, 3), (21, 3), (3, 0)])
def test_absurd_final_settings_are_refused_with_the_option_to_change(raced, finalists, final_seeds):
    _, config = raced
    with pytest.raises(StudyError, match="--final"):
        replace(config, finalists=finalists, final_seeds=final_seeds).check()
