"""The meta-learner on plain data: normalisation, task weights, both warm-start strategies."""

from __future__ import annotations

import math

import pytest

from autorl.errors import UsageError
from autorl.meta import PastTask, PastTrial, TargetTask, propose, task_scale, task_weight
from autorl.types import SpaceSummary, TaskFeatures


def features(kind: str = "box", random_return: float = -1200.0, obs: int = 3) -> TaskFeatures:
    action = (
        SpaceSummary("box", (1,), low=-2, high=2)
        if kind == "box"
        else SpaceSummary("discrete", (), n=2)
    )
    return TaskFeatures(
        observation=SpaceSummary("box", (obs,)),
        action=action,
        max_episode_steps=200,
        reward_threshold=None,
        random_return_mean=random_return,
        random_return_std=200.0,
        random_episode_length=200.0,
        reward_per_step_mean=random_return / 200,
        reward_per_step_std=1.0,
        episodes=10,
        seed=0,
    )


def quadratic_task(key: str, optimum: float, families=("pendulum",), kind="box", n=12):
    """Scores peak (at -150) where log10(lr) equals ``optimum``; random policy scores -1200."""
    trials = []
    for i in range(n):
        log_lr = -5 + 3 * i / (n - 1)
        score = -150 - 400 * (log_lr - optimum) ** 2
        trials.append(PastTrial({"lr": 10**log_lr, "act": "tanh"}, score, number=i, study=key))
    return PastTask(key, tuple(trials), families, features(kind), threshold=-200, name=key)


def test_normalised_scores_put_random_at_zero_best_at_one_and_failures_below():
    task = quadratic_task("a", -3.5)
    scale = task_scale(task)
    assert scale(-1200.0) == pytest.approx(0.0)
    assert scale(max(t.score for t in task.trials)) == pytest.approx(1.0)
    assert scale(None) == -1.0 and scale(math.nan) == -1.0
    unsolved = PastTask("u", (PastTrial({}, -400.0),), features=features(), threshold=-200)
    assert task_scale(unsolved)(-400.0) < 1.0, (
        "the threshold is the ceiling when nothing reached it"
    )


def test_task_weight_family_first_then_features_and_never_across_action_kinds():
    target = TargetTask("t", ("pendulum",), features())
    same_family = quadratic_task("a", -3.0)
    near_other = quadratic_task("b", -3.0, families=("other",))
    far_other = PastTask("c", (), ("other",), features(obs=400, random_return=-5.0))
    discrete = quadratic_task("d", -3.0, kind="discrete")
    assert task_weight(same_family, target) == 1.0
    assert 0 < task_weight(far_other, target) < task_weight(near_other, target) < 1.0
    assert task_weight(discrete, target) == 0.0


@pytest.mark.parametrize("strategy", ["nearest-best", "portfolio"])
def test_unrelated_history_gives_no_proposals(strategy):
    target = TargetTask("t", ("pendulum",), features("box"))
    past = [quadratic_task("d", -3.0, families=("cartpole",), kind="discrete")]
    assert propose(past, target, 3, strategy) == []


def test_nearest_best_starts_with_the_best_of_the_most_similar_task():
    target = TargetTask("t", ("pendulum",), features())
    family = quadratic_task("fam", -3.0)
    other = quadratic_task("oth", -4.5, families=("other",))
    proposals = propose([other, family], target, 4, "nearest-best")
    assert proposals[0].source_task == "fam"
    assert math.log10(proposals[0].params["lr"]) == pytest.approx(-3.0, abs=0.2)
    assert {p.source_task for p in proposals} == {"fam", "oth"}
    assert len({p.params["lr"] for p in proposals}) == 4


def test_portfolio_covers_the_optima_of_different_tasks_first():
    target = TargetTask("t", ("pendulum",), features())
    low, high = quadratic_task("low", -4.5), quadratic_task("high", -2.2)
    proposals = propose([low, high], target, 2, "portfolio")
    found = sorted(math.log10(p.params["lr"]) for p in proposals)
    assert found == [pytest.approx(-4.5, abs=0.2), pytest.approx(-2.2, abs=0.2)]
    assert all(p.source_study in ("low", "high") and p.source_trial >= 0 for p in proposals)
    assert proposals[0].origin().startswith("task:")


def test_portfolio_prefers_a_configuration_observed_good_on_every_task():
    target = TargetTask("t", ("pendulum",), features())
    robust = {"lr": 1e-3, "act": "relu"}
    tasks = []
    for key, optimum in (("a", -4.5), ("b", -2.0)):
        base = quadratic_task(key, optimum)
        shared = PastTrial(robust, -160.0, number=99, study=key)  # near-best on both tasks
        tasks.append(PastTask(key, (*base.trials, shared), base.families, base.features, -200))
    first = propose(tasks, target, 1, "portfolio")[0]
    assert first.params == robust


def test_unknown_strategy_is_refused_naming_the_choices():
    with pytest.raises(UsageError, match="nearest-best"):
        propose([], TargetTask("t"), 3, "magic")


def test_family_best_proposes_one_ranking_whatever_the_target():
    robust = {"lr": 1e-3, "act": "relu"}
    tasks = []
    for key, optimum in (("a", -4.5), ("b", -2.0)):
        base = quadratic_task(key, optimum)
        shared = PastTrial(robust, -160.0, number=99, study=key)  # near-best on both tasks
        tasks.append(PastTask(key, (*base.trials, shared), base.families, base.features, -200))
    near_a = TargetTask("t", ("pendulum",), features(random_return=-1100.0))
    near_b = TargetTask("u", ("pendulum",), features(random_return=-1300.0))
    first = propose(tasks, near_a, 3, "family-best")
    assert first[0].params == robust and "family mean #1 over 2 tasks" in first[0].why
    assert [p.params for p in first] == [p.params for p in propose(tasks, near_b, 3, "family-best")]
