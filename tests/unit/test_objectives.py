"""Return against size: the front, the size-aware median rule and race, through the real
worker loop and storage (SQLite) with a fake trainer and a fake cost measure."""

from __future__ import annotations

import itertools
import math

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from autorl.errors import StudyError, UsageError
from autorl.runtime.runner import WorkerOptions, run_worker
from autorl.service import TuneRequest
from autorl.spaces import load_space
from autorl.spaces.transform import actor_widths
from autorl.study import attrs
from autorl.study.accounting import total_compute
from autorl.study.config import COST_OBJECTIVES, RaceSettings, parse_objectives
from autorl.study.factory import create_or_continue
from autorl.study.objectives import (
    COSTS,
    CostAwareMedianPruner,
    pareto_front,
    parse_tolerance,
    shrink_ladder,
    smallest_within,
)
from autorl.study.queries import pareto
from autorl.study.racing import race_state
from autorl.study.storage import open_storage
from autorl.training.cost import PolicyCost
from autorl.types import Evaluation, SeedResult, TaskSpec
from tests.unit.test_search_budget import TIMESTEPS, learning_rate, make_config


def _layers(spec) -> list[int]:
    kwargs = spec.config.sb3_kwargs.get("policy_kwargs") or {}
    arch = kwargs.get("net_arch") or []
    actor = arch["pi"] if isinstance(arch, dict) else arch  # the critic is not shipped
    return [*(kwargs.get("shared_trunk") or []), *actor]


def fake_measure(spec) -> PolicyCost:
    """A 4-input, 2-action MLP's weights and biases."""
    sizes = [4, *_layers(spec), 2]
    params = sum(a * b + b for a, b in itertools.pairwise(sizes))
    return PolicyCost(params=params, latency_us=1.0 + params / 1000, device="cpu")


def final_score(spec) -> float:
    """Larger networks score more (saturating); a learning rate away from 10^-3.5 less."""
    params = fake_measure(spec).params
    return 100 * (1 - math.exp(-params / 3000)) - 40 * abs(math.log10(learning_rate(spec)) + 3.5)


def rising_train(spec, report=None) -> SeedResult:
    """Every curve rises linearly to its final score: ranks at any step are final ranks."""
    score, curve = final_score(spec), []
    n = spec.evaluation.n_evaluations
    for i in range(1, n + 1):
        step, value = spec.timesteps * i // n, final_score(spec) * i / n
        curve.append(Evaluation(step, value, 0.0, (value,)))
        if report is not None and not report(step, value):
            return SeedResult(spec.seed, value, tuple(curve), step, 0.0, pruned=True)
    return SeedResult(spec.seed, score, tuple(curve), spec.timesteps, 0.01)


def few_sizes() -> dict:
    """PPO's space with four architectures (1-2 layers of 8 or 64) and no shared trunk, so
    that sizes repeat and the median rule has peers of each size."""
    space = load_space("ppo").with_fixed({"shared_trunk": False}).to_dict()
    space["params"]["net_depth"] = {"type": "int", "low": 0, "high": 2}
    space["params"]["net_width"] = {"type": "categorical", "choices": [8, 64]}
    return space


def size_study(url, name, pruner="median", budget=24, space=None):
    config = make_config(
        space=space or few_sizes(),
        race=RaceSettings(min_seeds=2, max_seeds=2),
        pruner=pruner,
        sampler_seed=5,
        objectives=("return", "params"),
    )
    study, _, _ = create_or_continue(name, open_storage(url), config, budget)
    run_worker(WorkerOptions(url, name), train=rising_train, measure=fake_measure)
    return study


def test_objectives_and_tolerances_are_parsed_or_refused_with_what_is_accepted():
    assert parse_objectives("return") == ("return",)
    assert parse_objectives(" return , params ") == ("return", "params")
    assert parse_objectives("return,latency") == ("return", "latency")
    for bad in ("params,return", "return,size", "return,params,latency", ""):
        with pytest.raises(StudyError, match="return,params or return,latency"):
            parse_objectives(bad)
    assert set(COSTS) == set(COST_OBJECTIVES)  # every cost a study accepts is measured
    assert parse_tolerance("5%") == pytest.approx(0.05)
    assert parse_tolerance("0.1") == pytest.approx(0.1)
    for bad in ("150%", "0", "five", "-5%"):
        with pytest.raises(StudyError, match="fraction of the return range"):
            parse_tolerance(bad)


def test_a_cost_objective_refuses_hyperband_and_a_bad_objective_before_anything_is_stored():
    with pytest.raises(StudyError, match="hyperband"):
        make_config(pruner="hyperband", objectives=("return", "params")).check()
    with pytest.raises(UsageError, match="return,params or return,latency"):
        request = TuneRequest(task=TaskSpec("CartPole-v1"), objectives="return,size")
        request.study_config(request.search_space())


def test_with_a_cost_objective_the_default_space_reaches_down_to_a_linear_policy():
    plain = TuneRequest(task=TaskSpec("CartPole-v1")).search_space().to_dict()["params"]
    sized = TuneRequest(task=TaskSpec("CartPole-v1"), objectives="return,params")
    params = sized.search_space().to_dict()["params"]
    assert params["net_depth"]["low"] == 0 and plain["net_depth"]["low"] == 1
    assert params["net_width"]["choices"][:4] == [4, 8, 16, 32]
    # the critic is searched apart, over the space's own ranges: a shipped policy leaves it out
    assert params["critic_depth"]["low"] == 1 and params["critic_width"]["choices"] == [
        64,
        128,
        256,
    ]
    assert params["critic_depth"]["when"] == {"shared_trunk": [False]}
    space = sized.search_space()
    probe = optuna.create_study()
    probe.enqueue_trial({"net_depth": 1, "net_width": 8, "shared_trunk": False,
                         "critic_depth": 2, "critic_width": 64})  # fmt: skip
    trial = probe.ask()
    config = space.resolve(space.sample(trial, "discrete"), "discrete", 10_000).config
    assert config.sb3_kwargs["policy_kwargs"]["net_arch"] == {"pi": [8], "vf": [64, 64]}
    # depth 0 to 4, each deeper layer its own width: a funnel is smaller than a column
    assert params["net_depth"]["high"] == 4
    assert params["net_width_3"]["when"] == {"net_depth": [3, 4]}
    funnel = {"net_depth": 3, "net_width": 64, "net_width_2": 16, "net_width_3": 4,
              "shared_trunk": False, "critic_depth": 1, "critic_width": 64}  # fmt: skip
    probe.enqueue_trial(funnel)
    config = space.resolve(space.sample(probe.ask(), "discrete"), "discrete", 10_000).config
    assert config.sb3_kwargs["policy_kwargs"]["net_arch"] == {"pi": [64, 16, 4], "vf": [64]}
    assert actor_widths(config.sb3_kwargs["policy_kwargs"]) == (64, 16, 4)  # what is shipped
    assert actor_widths({"shared_trunk": [32, 32], "net_arch": [8]}) == (32, 32, 8)
    assert actor_widths({"ortho_init": True}) is None  # SB3's default network
    given = TuneRequest(task=TaskSpec("CartPole-v1"), objectives="return,params", space="ppo")
    assert given.search_space().to_dict()["params"] == plain  # a space the user gave stays


def _trial(value, params, selectable=True, state=TrialState.COMPLETE, curve=()):
    return create_trial(
        state=state,
        value=value if state == TrialState.COMPLETE else None,
        params={"x": 0.5},
        distributions={"x": FloatDistribution(0, 1)},
        user_attrs={attrs.POLICY_PARAMS: params, attrs.SELECTABLE: selectable},
        intermediate_values=dict(curve),
    )


def test_the_shrink_ladder_steps_down_evenly_in_log_size_to_a_linear_policy():
    space = load_space("ppo").with_small_networks().to_dict()
    ladder = shrink_ladder({"net_depth": 2, "net_width": 64, "n_epochs": 5}, space, 4)
    shapes = [(p["net_depth"], p["net_width"]) for p in ladder]
    assert shapes == [(1, 64), (1, 8), (1, 4), (0, 4)]
    assert all(p["n_epochs"] == 5 for p in ladder)
    assert shrink_ladder({"net_depth": 0, "net_width": 4}, space, 4) == []  # nothing smaller
    funnel = {"net_depth": 2, "net_width": 64, "net_width_2": 8}  # 8*64 + 64*8 = 1024
    ladder = shrink_ladder(funnel, space, 3)
    assert [(p["net_depth"], p["net_width"]) for p in ladder] == [(2, 8), (1, 4), (0, 4)]
    assert all(p["net_width_2"] == p["net_width"] == p["net_width_4"] for p in ladder)
    fixed = load_space("ppo").with_fixed({"net_depth": 2}).to_dict()
    assert shrink_ladder({"net_depth": 2, "net_width": 64}, fixed, 4) == []  # depth not searched


def test_the_front_keeps_what_nothing_cheaper_beats_cheapest_first():
    trials = [
        _trial(100.0, 5000),
        _trial(90.0, 800),
        _trial(95.0, 9000),  # beaten by a cheaper one
        _trial(99.0, 800, selectable=False),  # one seed: not a point of the front
        _trial(40.0, 10),
        _trial(40.0, 50),  # as good, dearer
    ]
    for number, t in enumerate(trials):
        t.number = number
    front = pareto_front(trials, "params")
    assert [t.number for t in front] == [4, 1, 0]
    # negative returns: within 5% of the range from the random policy's -1200 to the best
    pendulum = [_trial(-1100.0, 10), _trial(-190.0, 400), _trial(-150.0, 9000)]
    assert smallest_within(pendulum, 0.05, floor=-1200.0) is pendulum[1]
    assert smallest_within(pendulum, 0.01, floor=-1200.0) is pendulum[2]


def test_a_small_network_is_judged_against_no_larger_ones_where_the_plain_median_prunes_it():
    study = optuna.create_study(direction="maximize")
    for k in range(6):  # large networks that learn fast
        study.add_trial(_trial(90.0 + k, 60_000, curve=[(500, 80.0 + k), (1000, 90.0 + k)]))
    small = _trial(None, 50, state=TrialState.RUNNING, curve=[(500, 30.0)])
    small.number = 99
    sized = CostAwareMedianPruner("params", warmup_steps=300)
    assert not sized.prune(study, small)  # nothing no larger to compare with: it runs on
    plain = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=300)
    assert plain.prune(study, small)  # Optuna's rule would lose the front's cheapest point
    large = _trial(None, 80_000, state=TrialState.RUNNING, curve=[(500, 30.0)])
    large.number = 100
    assert sized.prune(study, large)  # a larger one below smaller ones' median stops


def test_a_size_study_stores_costs_prunes_only_dominated_trials_and_saves_compute(sqlite_url):
    pruned_study = size_study(sqlite_url, "sized")
    trials = pruned_study.get_trials()
    assert all(attrs.POLICY_PARAMS in t.user_attrs for t in trials)
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    assert pruned, "the median rule among no larger trials should stop some"
    for t in pruned:  # curves keep their ranks: each stopped trial is beaten at no more size
        own = t.user_attrs[attrs.POLICY_PARAMS]
        step, value = max(t.intermediate_values.items())  # curves rise linearly to the end
        final = value * TIMESTEPS / step
        assert any(d.user_attrs[attrs.POLICY_PARAMS] <= own and d.value > final for d in done), (
            t.number
        )
    front = pareto(pruned_study)
    assert front.objective == "params" and front.floor_from == "worst trial"
    assert [p.params for p in front.points] == sorted(p.params for p in front.points)
    assert all(len(p.seed_scores) == 2 for p in front.points)  # multi-seed aggregates only
    assert front.points[-1].kept == pytest.approx(1.0)
    # the last 4 trials shrink the best configuration of the first 20
    shrunk = [t for t in trials if str(t.user_attrs.get(attrs.SOURCE)).startswith("shrink:")]
    assert [t.number for t in shrunk] == [20, 21, 22, 23]
    source = trials[int(shrunk[0].user_attrs[attrs.SOURCE].split(":")[1])]
    sizes = [t.user_attrs[attrs.POLICY_PARAMS] for t in shrunk]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] < source.user_attrs["policy_params"]
    assert shrunk[-1].params["net_depth"] == 0  # down to a linear policy
    for t in shrunk:  # the same settings, only the architecture differs
        same = {k: v for k, v in t.params.items() if k not in ("net_depth", "net_width")}
        assert same == {k: v for k, v in source.params.items() if k in same}
    unpruned = size_study(sqlite_url, "unpruned", pruner="none")
    spent = total_compute(trials)["env_steps"]
    assert spent < total_compute(unpruned.get_trials())["env_steps"]


def test_the_incumbent_a_trial_races_is_the_best_no_larger_than_it(sqlite_url):
    study = size_study(sqlite_url, "race-sized", budget=10)
    done = [t for t in study.get_trials() if t.state == TrialState.COMPLETE]
    cheapest = min(t.user_attrs[attrs.POLICY_PARAMS] for t in done)
    bar = race_state(study, objective="params", cost=cheapest)
    cheap = [t for t in done if t.user_attrs[attrs.POLICY_PARAMS] <= cheapest]
    selectable = [t.value for t in cheap if t.user_attrs.get(attrs.SELECTABLE)]
    assert bar.incumbent == (max(selectable) if selectable else None)
    overall = race_state(study)
    assert overall.incumbent == max(t.value for t in done if t.user_attrs.get(attrs.SELECTABLE))


def test_a_study_tuned_for_return_alone_has_no_front(sqlite_url):
    config = make_config()
    study, _, _ = create_or_continue("plain", open_storage(sqlite_url), config, 1)
    with pytest.raises(StudyError, match="--objectives return,params"):
        pareto(study)


def test_a_policy_that_cannot_be_built_fails_its_trial_and_the_study_goes_on(sqlite_url):
    def picky_measure(spec) -> PolicyCost:
        if not _layers(spec):
            raise ValueError("no hidden layer for this env")
        return fake_measure(spec)

    config = make_config(
        space=load_space("ppo")
        .with_small_networks()
        .with_fixed({"net_depth": 0, "shared_trunk": False})
        .to_dict(),
        seeds=1,
        objectives=("return", "params"),
    )
    study, _, _ = create_or_continue("picky", open_storage(sqlite_url), config, 2)
    options = WorkerOptions(sqlite_url, "picky", max_trials=3)
    run_worker(options, train=rising_train, measure=picky_measure)
    failed = [t for t in study.get_trials() if t.state == TrialState.FAIL]
    assert len(failed) == 2  # each try failed, counted against the budget, stored with why
    for t in failed:
        assert t.user_attrs[attrs.FAILURE_REASON] == "env_error"
        assert (
            "building the policy to measure its cost failed: no hidden layer"
            in (t.user_attrs[attrs.FAILURE_MESSAGE])
        )


def capped_train(spec, report=None) -> SeedResult:
    """Every configuration reaches the cap, 100, at a pace set by its learning rate."""
    n, pace = spec.evaluation.n_evaluations, min(1.0, learning_rate(spec) * 2000)
    curve = [
        Evaluation(spec.timesteps * i // n, 100.0 * min(1.0, pace * i / n + 0.5), 0.0, ())
        for i in range(1, n + 1)
    ]
    for point in curve:
        if report is not None and not report(point.step, point.mean):
            return SeedResult(spec.seed, point.mean, tuple(curve), point.step, 0.0, pruned=True)
    return SeedResult(spec.seed, 100.0, tuple(curve), spec.timesteps, 0.01)


def test_a_configuration_tied_with_a_smaller_incumbent_loses_the_race(sqlite_url):
    config = make_config(
        space=few_sizes(), race=RaceSettings(2, 2), sampler_seed=1, objectives=("return", "params")
    )
    study, _, _ = create_or_continue("capped", open_storage(sqlite_url), config, 12)
    run_worker(WorkerOptions(sqlite_url, "capped"), train=capped_train, measure=fake_measure)
    done = sorted(
        (t for t in study.get_trials() if t.state == TrialState.COMPLETE), key=lambda t: t.number
    )
    size = {t.number: t.user_attrs[attrs.POLICY_PARAMS] for t in done}
    for t in done:  # no trial raced on a tie with a smaller one that had its seeds already
        raced = len(t.user_attrs[attrs.SEEDS]) == 2
        smaller_before = [u for u in done if u.number < t.number and size[u.number] < size[t.number]
                          and u.user_attrs.get(attrs.SELECTABLE)]  # fmt: skip
        assert not (raced and smaller_before), t.number
    front = pareto(study)
    assert len(front.points) == 1 and front.points[0].params == min(size.values())


def test_compress_distills_into_the_front_pick_or_says_why_it_cannot(sqlite_url, tmp_path, capsys):
    from autorl.cli import main

    size_study(sqlite_url, "fronted", budget=6)
    args = ["compress", str(tmp_path / "none.zip"), "--out", str(tmp_path / "out")]
    code = main([*args, "--distill-front", "fronted", "--storage", sqlite_url])
    out, err = capsys.readouterr()
    assert "distilling into trial" in out and "'s actor: " in out
    assert code != 0 and "no model file" in err  # the pick came first; nothing was written
    create_or_continue("plain", open_storage(sqlite_url), make_config(), 1)
    code = main([*args, "--distill-front", "plain", "--storage", sqlite_url])
    assert code != 0 and "tuned for return alone: it has no front" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
