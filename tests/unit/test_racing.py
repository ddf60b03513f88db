"""Racing over seeds on a fake objective with a known noise model (no training, no Optuna).

Each simulated configuration has a true mean return, a probability that a training seed fails
(scores near the random policy's return, as a seed that never learns does) and Gaussian
seed-to-seed noise. The truly best configuration is the one with the highest expected return
on a new seed. A study sees 16 configurations in a row; one-seed selection publishes the
highest single score, racing the best aggregate over at least ``min_seeds`` seeds.
"""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass, replace

import pytest

from autorl.errors import StudyError
from autorl.runtime.final_choice import chosen_finalist
from autorl.scoring import (
    AGGREGATES,
    Bar,
    SeedPlan,
    SeedScore,
    aggregate,
    mean_interval,
    practical_margin,
    race,
    return_cap,
    seed_spread,
    should_continue,
)
from autorl.study.config import RaceSettings, StudyConfig, seed_fields
from autorl.types import TaskSpec

FAILED_SCORE = 20.0
NOISE = 25.0


@dataclass(frozen=True)
class FakeConfig:
    mean: float
    p_fail: float

    def expected(self) -> float:
        return (1 - self.p_fail) * self.mean + self.p_fail * FAILED_SCORE

    def seed_score(self, rng: random.Random) -> float:
        if rng.random() < self.p_fail:
            return FAILED_SCORE + rng.uniform(-10, 10)
        return self.mean + rng.gauss(0, NOISE)


def draw_configs(rng: random.Random, n: int) -> list[FakeConfig]:
    """Half of them close to the top on a good seed; many of those unreliable."""
    return [
        FakeConfig(rng.uniform(250, 500), rng.choice([0.0, 0.0, 0.0, 0.2, 0.35, 0.5]))
        for _ in range(n)
    ]


@dataclass
class Simulated:
    picked: FakeConfig
    picked_seeds: int
    best: FakeConfig
    seed_runs: int


@dataclass(frozen=True)
class PlateauConfig:
    """MountainCarContinuous: a seed either finds the goal (about 90) or settles on the
    do-nothing optimum (0, to a thousandth), with a probability per configuration."""

    p_goal: float

    def expected(self) -> float:
        return self.p_goal * GOAL

    def seed_score(self, rng: random.Random) -> float:
        if rng.random() < self.p_goal:
            return GOAL + rng.gauss(0, 3)
        return rng.gauss(0, 0.001)


GOAL, PLATEAU_FLOOR = 90.0, -33.0  # the goal's return; the random policy's


def draw_plateau_configs(rng: random.Random, n: int) -> list[PlateauConfig]:
    """Most configurations never find the goal; some do on some seeds."""
    return [PlateauConfig(rng.choice([0.0, 0.0, 0.0, 0.0, 0.3, 0.6, 0.9])) for _ in range(n)]


def simulate(
    rng: random.Random,
    plan: SeedPlan,
    n: int = 16,
    draw=draw_configs,
    floor: float | None = None,
    with_margin: bool = True,
    final: tuple[int, int] | None = None,
) -> Simulated:
    """One study of ``n`` configurations; ``final``: (K, V), the final choice among the top
    K on V more seeds (``autorl.runtime.final_choice.chosen_finalist`` chooses)."""
    configs = draw(rng, n)
    results: list[tuple[FakeConfig, float, bool, list[float]]] = []  # config, value, ok, scores

    def bar() -> Bar:
        eligible = [value for _, value, ok, _ in results if ok]
        per_config = [scores for *_, scores in results]
        seen = [s for scores in per_config for s in scores]
        ceiling = return_cap(seen)
        best = max(seen, default=None)
        margin = practical_margin(best, floor, min(seen, default=None)) if with_margin else 0
        return Bar(
            max(eligible) if eligible else None, seed_spread(per_config), ceiling, margin=margin
        )

    runs = 0
    for config in configs:
        seed_rng = random.Random(rng.random())

        def run_seed(k: int, config=config, seed_rng=seed_rng) -> tuple[float, bool]:
            nonlocal runs
            runs += 1
            return config.seed_score(seed_rng), False

        outcome = race(run_seed, bar, plan)
        value = aggregate(outcome.scores, plan.method)
        results.append((config, value, outcome.selectable, list(outcome.scores)))
    chosen = max((r for r in results if r[2]), key=lambda r: r[1])
    picked, picked_seeds = chosen[0], len(chosen[3])
    if final is not None:
        k, v = final
        ranked = sorted((r for r in results if r[2]), key=lambda r: r[1], reverse=True)[:k]
        final_rng = random.Random(rng.random())
        entries = []
        for config, _, _, scores in ranked:
            more = [config.seed_score(final_rng) for _ in range(v)]
            runs += v
            entries.append({"config": config, "train_scores": scores, "final_scores": more})
        if len(entries) >= 2:
            picked = chosen_finalist(entries, plan.method)["config"]
            picked_seeds += v
    return Simulated(
        picked=picked,
        picked_seeds=picked_seeds,
        best=max(configs, key=lambda c: c.expected()),
        seed_runs=runs,
    )


def run_many(plan: SeedPlan, studies: int = 400, seed: int = 7, **kwargs) -> dict[str, float]:
    rng = random.Random(seed)
    sims = [simulate(rng, plan, **kwargs) for _ in range(studies)]
    return {
        "expected": statistics.fmean(s.picked.expected() for s in sims),
        "hit": statistics.fmean(s.picked.expected() == s.best.expected() for s in sims),
        "regret": statistics.fmean(s.best.expected() - s.picked.expected() for s in sims),
        "runs_per_config": statistics.fmean(s.seed_runs / kwargs.get("n", 16) for s in sims),
        "seed_runs": statistics.fmean(s.seed_runs for s in sims),
        "min_picked_seeds": min(s.picked_seeds for s in sims),
    }


ONE_SEED = SeedPlan(max_seeds=1, min_seeds=1, method="mean", racing=False)
RACING = SeedPlan(max_seeds=3, min_seeds=3, method="mean")


def test_racing_picks_the_truly_best_configuration_more_often_than_one_seed_selection():
    one = run_many(ONE_SEED)
    raced = run_many(RACING)
    # Measured with these seeds (400 studies): one seed picks the truly best in 46% (mean
    # regret 52 in expected return), racing in 62% (regret 25) at 1.52 seed runs per
    # configuration (64%, 25, 1.54 without the practical margin).
    assert raced["hit"] > one["hit"] + 0.1
    assert raced["regret"] < 0.6 * one["regret"]
    assert raced["runs_per_config"] < 2.0


def test_on_a_plateau_the_practical_margin_saves_seeds_and_picks_as_well():
    # Measured with these seeds (400 studies): without the margin 1.55 seed runs per
    # configuration (ties on the plateau race: 0.0004 beats 0.0001), with it 1.41; the truly
    # best picked in 78% and 80%, mean regret 6.8 and 6.4. (At equal seed runs, 1,500 studies,
    # the picks' expected returns are equal within 0.2 with or without it, here and on the
    # continuous objective: the margin saves seeds, it does not choose better. Where the goal
    # is rare, tie races were luck that found it: with the margin a third fewer seed runs at
    # equal trials, and the same picks at equal seed runs.)
    plateau = {"draw": draw_plateau_configs, "floor": PLATEAU_FLOOR}
    without = run_many(RACING, with_margin=False, **plateau)
    margin = run_many(RACING, **plateau)
    assert margin["runs_per_config"] < without["runs_per_config"] - 0.1
    assert margin["hit"] >= without["hit"] - 0.03
    assert margin["regret"] <= without["regret"] + 1.0


def test_a_final_choice_among_the_top_three_picks_better_at_equal_trials_and_equal_seed_runs():
    # Measured with these seeds (400 studies each): the expected return on a new seed of the
    # published configuration (seed runs per study), racing 16 trials / racing 16 trials and
    # a final choice among the top 3 on 3 more seeds / racing 23 trials (the same seed runs):
    # continuous 447.4 (24.3) / 456.4 (32.9) / 449.6 (32.8); plateau 71.8 (22.6) / 73.2
    # (30.3) / 72.2 (30.7). The final choice costs a third more seed runs at equal trials.
    figures = {}
    for name, kwargs in (
        ("continuous", {}),
        ("plateau", {"draw": draw_plateau_configs, "floor": PLATEAU_FLOOR}),
    ):
        raced = run_many(RACING, **kwargs)
        final = run_many(RACING, final=(3, 3), **kwargs)
        longer = run_many(RACING, n=23, **kwargs)
        figures[name] = (raced, final, longer)
        assert final["expected"] > raced["expected"]
        assert final["seed_runs"] <= longer["seed_runs"] + 1  # no more compute than 23 trials
        assert final["min_picked_seeds"] >= 3
    continuous, plateau = figures["continuous"], figures["plateau"]
    assert continuous[1]["expected"] > continuous[2]["expected"] + 3
    assert plateau[1]["expected"] > plateau[2]["expected"] - 1


def test_racing_never_publishes_a_configuration_seen_on_fewer_than_min_seeds():
    assert run_many(RACING, studies=100)["min_picked_seeds"] >= 3
    two = SeedPlan(max_seeds=4, min_seeds=2, method="iqm")
    assert run_many(two, studies=100)["min_picked_seeds"] >= 2


def test_a_configuration_that_cannot_beat_the_incumbent_stops_after_one_seed():
    ran: list[int] = []

    def run_seed(k: int) -> tuple[float, bool]:
        ran.append(k)
        return 100.0, False

    outcome = race(run_seed, lambda: Bar(400.0, 50.0), RACING)
    assert ran == [0]
    assert not outcome.selectable
    assert "cannot beat the incumbent after 1 seed" in outcome.stop


def test_seed_runs_already_paid_for_are_taken_without_asking():
    ran: list[int] = []

    def run_seed(k: int) -> tuple[float, bool]:
        ran.append(k)
        return 100.0, False

    outcome = race(run_seed, lambda: Bar(400.0, 0.0), RACING, free=2)
    assert ran == [0, 1] and "after 2 seed" in outcome.stop


def test_without_an_incumbent_every_seed_runs_and_a_pruned_run_ends_the_race():
    outcome = race(lambda k: (1.0, False), lambda: Bar(None, 0.0), RACING)
    assert outcome.scores == (1.0, 1.0, 1.0) and outcome.selectable

    outcome = race(lambda k: (5.0, k == 1), lambda: Bar(None, 0.0), RACING)
    assert outcome.pruned == (False, True) and not outcome.selectable
    assert outcome.stop == "seed run 1 pruned"


def test_before_any_incumbent_a_configuration_below_the_median_first_seed_does_not_race():
    # parallel workers at the start of a study: no incumbent, but others' first seeds exist
    start = Bar(None, 0.0, peers=(-98.0, -120.0, -400.0))
    outcome = race(lambda k: (-1296.0, False), lambda: start, RACING)
    assert outcome.scores == (-1296.0,) and not outcome.selectable
    assert "no incumbent yet" in outcome.stop and "median first-seed score -120" in outcome.stop
    # the best of them (at or above the median) still races and sets the bar
    outcome = race(lambda k: (-97.0, False), lambda: start, RACING)
    assert outcome.scores == (-97.0, -97.0, -97.0) and outcome.selectable


def test_non_adaptive_plan_runs_every_seed_whatever_the_incumbent():
    plan = SeedPlan(max_seeds=3, min_seeds=3, method="mean", racing=False)
    outcome = race(lambda k: (0.0, False), lambda: Bar(1e9, 0.0), plan)
    assert len(outcome.scores) == 3 and outcome.selectable


@pytest.mark.parametrize(
    ("method", "scores", "expected"),
    [
        ("mean", [9, 500, 500], 336.333),
        ("iqm", [9, 500, 500], 9 / 6 + 2 * 500 / 3 + 500 / 6),
        ("iqm", [1, 2, 3, 4], 2.5),
        ("median", [9, 500, 490], 490),
        ("worst", [9, 500, 490], 9),
        ("lcb", [1, 2, 3], 2 - 1 / 3**0.5),
        ("lcb", [7], 7),
    ],
)
def test_aggregates(method, scores, expected):
    assert aggregate(scores, method) == pytest.approx(expected, abs=1e-3)


def test_every_aggregate_of_one_score_is_that_score_and_bad_names_are_refused():
    for method in AGGREGATES:
        assert aggregate([3.5], method) == 3.5
    with pytest.raises(ValueError, match="not one of mean, iqm"):
        aggregate([1.0], "max")


def test_optimistic_completion_is_what_the_decision_compares():
    decision = should_continue([400.0], 500.0, 60.0, 3, "mean")
    assert decision.go_on is False
    assert decision.optimistic == pytest.approx(400 + 2 / 3 * 60)
    # "worst" can only fall: a configuration already below the bar never earns a seed
    assert should_continue([450.0], 460.0, 1000.0, 3, "worst").go_on is False
    assert should_continue([470.0], 460.0, 0.0, 3, "worst").go_on is True
    # returns have ceilings: nothing can beat 500 on CartPole once an incumbent has it
    assert should_continue([500.0], 500.0, 5.0, 3, "mean", ceiling=500.0).go_on is False
    assert should_continue([500.0], 498.0, 5.0, 3, "mean", ceiling=500.0).go_on is True


def test_seed_spread_is_robust_to_one_failing_configuration():
    assert seed_spread([[1.0], [2.0]]) == 0.0
    spread = seed_spread([[100, 102], [200, 204], [500, 10], [50, 51]])
    assert 1 < spread < 5


def test_mean_interval_covers_the_mean():
    low, high = mean_interval([10.0, 12.0, 14.0])
    assert low < 12.0 < high
    assert mean_interval([1.0]) is None


def test_racing_is_the_default_and_seeds_k_the_non_adaptive_option():
    fields, keep = seed_fields()
    assert fields["race"] == RaceSettings(3, 3, 1.0) and fields["seeds"] == 1
    assert keep == ("seeds", "race", "aggregate")  # nothing given: a continued study keeps its
    fields, keep = seed_fields(seeds=2)
    assert fields["race"] is None and fields["seeds"] == 2 and keep == ()
    assert seed_fields(max_seeds=2)[0]["race"] == RaceSettings(2, 2, 1.0)
    with pytest.raises(StudyError, match="--seeds K trains every configuration on K seeds"):
        seed_fields(seeds=2, max_seeds=3)


def test_racing_settings_are_checked_before_anything_runs():
    base = StudyConfig(task=TaskSpec("CartPole-v1"), algo="ppo", space={}, timesteps=1000)
    with pytest.raises(StudyError, match="--min-seeds 4 must be between 1 and --max-seeds"):
        replace(base, race=RaceSettings(4, 3)).check()
    with pytest.raises(StudyError, match="--aggregate 'max'"):
        replace(base, aggregate="max").check()
    stored = StudyConfig.from_dict(replace(base, race=RaceSettings(2, 5, 0.5)).to_dict())
    assert stored.race == RaceSettings(2, 5, 0.5) and stored.min_seeds == 2
    legacy = base.to_dict()
    del legacy["race"], legacy["aggregate"]  # a study stored before racing
    old = StudyConfig.from_dict(legacy)
    assert old.race is None and old.aggregate == "mean" and old.min_seeds == 1


def test_a_tie_at_the_ceiling_goes_to_the_configuration_with_the_higher_learning_curve():
    # CartPole: the incumbent reached 500 at its last evaluation (area 310), the challenger
    # reached it at once and stayed (area 477): a tie cannot beat it, a higher curve can.
    tie = dict(ceiling=500.0, incumbent_area=310.0)
    decision = should_continue([500.0, 500.0], 500.0, 5.0, 3, "mean", area=477.0, **tie)
    assert decision.go_on and "higher learning curve" in decision.why
    assert not should_continue([500.0], 500.0, 5.0, 3, "mean", area=300.0, **tie).go_on
    assert not should_continue([500.0], 500.0, 5.0, 3, "mean", ceiling=500.0).go_on
    # below the ceiling a tie is a measure-zero event: the area decides nothing there
    assert not should_continue([400.0], 500.0, 0.0, 3, "mean", area=900.0, **tie).go_on

    steady = race(lambda k: SeedScore(500.0, False, 477.0), lambda: Bar(500.0, 5.0, **tie), RACING)
    assert steady.scores == (500.0, 500.0, 500.0) and steady.selectable
    late = race(lambda k: SeedScore(500.0, False, 250.0), lambda: Bar(500.0, 5.0, **tie), RACING)
    assert late.scores == (500.0,) and not late.selectable


def test_before_any_incumbent_a_configuration_below_the_random_policy_does_not_race():
    # Pendulum: random play scores -1223; a configuration at -1500 sets no bar worth 2 seeds
    below = should_continue([-1500.0], None, 0.0, 3, "mean", floor=-1223.0)
    assert not below.go_on and "below the random policy's return -1223" in below.why
    assert should_continue([-900.0], None, 0.0, 3, "mean", floor=-1223.0).go_on
    # once an incumbent exists the race is against it, whatever the floor
    assert should_continue([-1500.0], -1600.0, 50.0, 3, "mean", floor=-1223.0).go_on


def test_the_practical_margin_is_a_share_of_the_tasks_range():
    # MountainCarContinuous: random play -33.4, the goal about 95
    assert practical_margin(95.0, -33.4, -99.9) == pytest.approx(1.284)
    assert practical_margin(-0.0, -33.4, -99.9) == pytest.approx(0.334)  # the plateau only
    assert practical_margin(95.0, None, -5.0) == pytest.approx(1.0)  # no floor: the lowest seen
    assert practical_margin(None, None, None) == 0.0
    assert practical_margin(-50.0, -33.4, -99.9) == 0.0  # nothing above random yet


def test_a_challenger_within_the_margin_of_the_incumbent_does_not_race():
    # a do-nothing plateau: -0.0000 against the incumbent's -0.0013 is no difference
    tie = should_continue([-0.0000], -0.0013, 0.0, 3, "mean", margin=0.33)
    assert not tie.go_on and "practical margin 0.33" in tie.why
    assert should_continue([-0.0000], -0.0013, 0.0, 3, "mean").go_on  # without: it raced
    assert should_continue([5.0], -0.0013, 0.0, 3, "mean", margin=0.33).go_on


def test_before_any_incumbent_a_configuration_no_better_than_one_racing_leaves_it_the_race():
    racing_now = dict(leader=-0.5, margin=1.2, peers=(-98.6, -0.5))
    matched = should_continue([-0.1], None, 0.0, 3, "mean", **racing_now)
    assert not matched.go_on and "no better than a configuration racing now" in matched.why
    assert should_continue([50.0], None, 0.0, 3, "mean", **racing_now).go_on
    # one that has started racing keeps racing until there is an incumbent
    assert should_continue([-0.1, -0.2], None, 0.0, 3, "mean", **racing_now).go_on


def test_a_first_seed_better_than_every_seed_seen_keeps_its_credit_where_returns_have_no_cap():
    # Pendulum v4, sampler seed 2: seed runs of -129.2, -134.7, -154.5 and -123.4, -122.8,
    # -142.6 (the incumbent, -129.6); a new configuration scores -121.3 on its first seed.
    seen = [-129.2, -134.7, -154.5, -123.4, -122.8, -142.6]
    assert return_cap(seen) is None  # a best reached once is no cap
    spread = seed_spread([seen[:3], seen[3:]])
    decision = should_continue(
        [-121.3], -129.6, spread, 3, "mean", ceiling=return_cap(seen), margin=11.0
    )
    assert decision.go_on, decision.reason
    # CartPole: several seed runs at 500 are a cap, and credit stops there
    capped = [500.0, 500.0, 500.0, 431.0]
    assert return_cap(capped) == 500.0
    assert not should_continue([500.0], 500.0, 5.0, 3, "mean", ceiling=return_cap(capped)).go_on
