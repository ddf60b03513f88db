"""Leave-one-task-out on a synthetic table: the harness measures what it claims."""

from __future__ import annotations

import math
import random

import optuna
import pytest

from autorl.meta.eval.evaluation import (
    Arm,
    history_for,
    leave_one_task_out,
    random_search,
    summarize,
    warm_first,
)
from autorl.meta.eval.offline import prior_tpe_search, tpe_search
from autorl.meta.params import params_key
from autorl.meta.table import Table, TableRow, TableTask
from tests.integration.cli_helpers import run_cli
from tests.unit.test_meta_strategies import features

LR = optuna.distributions.distribution_to_json(
    optuna.distributions.FloatDistribution(1e-5, 1e-2, log=True)
)
ACT = optuna.distributions.distribution_to_json(
    optuna.distributions.CategoricalDistribution(["tanh", "relu"])
)


def synthetic_table(optima: dict[str, float], family: str = "pendulum", pool: int = 40) -> Table:
    """Score peaks at -150 where log10(lr) is the task's optimum; relu is slightly better."""
    rng = random.Random(0)
    configs = [
        {"lr": 10 ** rng.uniform(-5, -2), "act": rng.choice(["tanh", "relu"])} for _ in range(pool)
    ]
    table = Table()
    for name, optimum in optima.items():
        table.add_task(TableTask(name, f"{name}@1000", (family,), features(), threshold=-200))
        for params in configs:
            score = -150 - 300 * (math.log10(params["lr"]) - optimum) ** 2
            score -= 0 if params["act"] == "relu" else 20
            table.add_row(TableRow(name, params_key(params), params, score, {"lr": LR, "act": ACT}))
    return table


def test_table_round_trips_through_jsonl(tmp_path):
    table = synthetic_table({"a": -3.0, "b": -3.3})
    table.to_jsonl(tmp_path / "t.jsonl")
    again = Table.from_jsonl(tmp_path / "t.jsonl")
    assert again.tasks == table.tasks and again.rows == table.rows


def test_a_truncated_table_file_is_refused_with_its_line(tmp_path):
    path = tmp_path / "t.jsonl"
    synthetic_table({"a": -3.0}).to_jsonl(path)
    path.write_text(path.read_text()[:-40])
    with pytest.raises(ValueError, match=r"t\.jsonl:\d+: not a table line"):
        Table.from_jsonl(path)


def test_warm_proposals_come_from_the_other_tasks_and_lie_in_the_pool():
    table = synthetic_table({"a": -3.0, "b": -3.2, "c": -2.9})
    first = warm_first(table, "a", Arm("warm", "random", "portfolio", 3))
    assert 1 <= len(first) <= 3 and set(first) <= set(table.common_configs())
    assert warm_first(table, "a", Arm("cold", "random")) == []


def test_warm_start_beats_cold_search_on_a_family_with_a_shared_optimum():
    table = synthetic_table({"a": -3.0, "b": -3.2, "c": -2.9, "d": -3.1})
    arms = [
        Arm("cold-tpe", "tpe"),
        Arm("cold-random", "random"),
        Arm("warm-portfolio", "tpe", "portfolio", 3),
        Arm("warm-nearest", "tpe", "nearest-best", 3),
        Arm("warm-prior", "prior-tpe", "portfolio", 3),
    ]
    searchers = {"tpe": tpe_search, "random": random_search, "prior-tpe": prior_tpe_search}
    results = leave_one_task_out(table, arms, searchers, n_trials=10, reps=2)
    assert len(results) == 4 * 5 * 2
    assert all(len(r.configs) == 10 and len(set(r.configs)) == 10 for r in results)
    summary = {s.arm: s for s in summarize(results, 10)}
    for warm in ("warm-portfolio", "warm-nearest", "warm-prior"):
        assert summary[warm].first3_hit_rate == 1.0
        assert summary[warm].regret_at[5] <= summary["cold-tpe"].regret_at[5]
        assert (
            summary[warm].median_trials_to_threshold
            <= summary["cold-random"].median_trials_to_threshold
        )


def test_history_from_another_family_with_other_actions_changes_nothing():
    table = synthetic_table({"a": -3.0, "b": -3.2})
    other = Table()
    other.add_task(TableTask("x", "x@1", ("cartpole",), features("discrete"), 475))
    arm = Arm("warm-other", "random", "portfolio", 3, history=other)
    assert warm_first(table, "a", arm) == []
    cold = leave_one_task_out(table, [Arm("cold", "random")], {"random": random_search}, 5, 1)
    warm = leave_one_task_out(table, [arm], {"random": random_search}, 5, 1)
    assert [r.configs for r in cold] == [r.configs for r in warm]


def test_distant_history_is_ignored_unless_the_arm_trusts_it():
    # another continuous-action family whose features are far from the target's: weight
    # ~0.3 * exp(-d^2) < MIN_WEIGHT, so no proposals; the trusted arm takes it at full weight
    table = synthetic_table({"a": -3.0, "b": -3.2})
    other = synthetic_table({"x": -4.8}, family="mountaincar")
    far = features(obs=100)  # a 100-dimensional observation: far from 3
    other.tasks["x"] = TableTask("x", "x@1000", ("mountaincar",), far, -200)
    assert warm_first(table, "a", Arm("other", "random", "portfolio", 3, history=other)) == []
    trusted = warm_first(table, "a", Arm("t", "random", "portfolio", 3, other, trust_history=True))
    best_on_x = max(other.configs("x"), key=lambda c: other.score("x", c))
    assert trusted and trusted[0] == best_on_x


def test_history_of_one_task_is_another_task_drawn_per_repetition():
    table = synthetic_table({"a": -3.0, "b": -3.2, "c": -2.8, "d": -3.4})
    arm = Arm("warm-1", "random", "portfolio", 3, history_tasks=1)
    drawn = [history_for(table, "a", arm, rep) for rep in range(12)]
    assert all(len(past) == 1 and past[0].name != "a" for past in drawn)
    assert len({past[0].name for past in drawn}) > 1  # not the same task every repetition
    results = leave_one_task_out(table, [arm], {"random": random_search}, 5, 3, tasks=["a"])
    for result, past in zip(results, drawn, strict=False):
        assert list(result.configs[:3]) == warm_first(table, "a", arm, past)


def test_a_stricter_threshold_changes_the_metrics_not_the_search():
    table = synthetic_table({"a": -3.0, "b": -3.2})
    arm = Arm("warm", "random", "portfolio", 3)
    loose = leave_one_task_out(table, [arm], {"random": random_search}, 10, 2)
    strict = leave_one_task_out(table, [arm], {"random": random_search}, 10, 2, threshold=-151)
    assert [r.configs for r in loose] == [r.configs for r in strict]
    assert [r.regret for r in loose] == [r.regret for r in strict]
    for lo, st in zip(loose, strict, strict=True):
        assert lo.to_threshold is not None
        assert st.to_threshold is None or st.to_threshold >= lo.to_threshold
        hits = [i for i, s in enumerate(st.scores, 1) if s is not None and s >= -151]
        assert st.to_threshold == (hits[0] if hits else None)


def test_cold_tpe_starts_with_uniform_pool_picks_not_the_most_isolated_configuration():
    # 9 configurations crowd lr ~ 1e-3; one stands alone at 1e-5. Mapping uniform points to
    # their nearest pool configuration picked the lone one 21 times in 60 (its neighbourhood
    # is a large part of the log range); a uniform pick takes it 1 time in 10.
    table = Table()
    table.add_task(TableTask("a", "a@1000", ("pendulum",), features(), threshold=-200))
    for lr in [1e-5] + [10 ** (-3 + 0.01 * i) for i in range(9)]:
        params = {"lr": lr, "act": "relu"}
        table.add_row(TableRow("a", params_key(params), params, -300.0, {"lr": LR, "act": ACT}))
    lone = params_key({"lr": 1e-5, "act": "relu"})
    firsts = [tpe_search(table, "a", [], 1, seed)[0] for seed in range(60)]
    assert firsts.count(lone) <= 15  # expected 6 of 60
    assert len(set(firsts)) >= 7


def test_each_task_gets_its_own_random_draw_in_a_repetition():
    # one seed per repetition for all tasks would make every task's cold search the same
    # sequence: the tasks would not be independent samples of the arm.
    table = synthetic_table({"a": -3.0, "b": -3.2, "c": -2.9})
    results = leave_one_task_out(table, [Arm("cold", "random")], {"random": random_search}, 5, 2)
    firsts = {(r.task, r.rep): r.configs for r in results}
    assert len(set(firsts.values())) == 6


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--history-tasks", "0"], "--history-tasks 0: give at least 1"),
        (["--trials", "50"], "--trials 50 is more than the 40 configurations"),
    ],
)
def test_meta_eval_run_refuses_impossible_options(tmp_path, capsys, extra, message):
    path = tmp_path / "t.jsonl"
    synthetic_table({"a": -3.0, "b": -3.2}).to_jsonl(path)
    code, _, err = run_cli(
        ["meta-eval", "run", str(path), "--out", str(tmp_path / "o"), *extra], capsys
    )
    assert code != 0 and message in err
    assert not (tmp_path / "o").exists()
