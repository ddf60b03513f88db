"""PBT's exploit step, its random explore step and PB2's GP-UCB explore step."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from autorl.pbt.explore import Observation, exploit_pairs, pb2_suggest, perturb
from autorl.spaces.params import CategoricalParam, FloatParam, IntParam

SPECS = {
    "lr": FloatParam(low=1e-5, high=1e-1, log=True),
    "clip": FloatParam(low=0.1, high=0.4),
    "gae": FloatParam(low=0.8, high=1.0, step=0.05),
    "batch": IntParam(low=16, high=256, step=16),
    "epochs": IntParam(low=1, high=20),
    "layers": IntParam(low=1, high=64, log=True),
    "act": CategoricalParam(choices=["tanh", "relu", "elu", "gelu"]),
}
START = {
    "lr": 3e-4,
    "clip": 0.2,
    "gae": 0.95,
    "batch": 64,
    "epochs": 10,
    "layers": 2,
    "act": "relu",
}


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def assert_inside(out: dict, specs=SPECS) -> None:
    for name, spec in specs.items():
        assert spec.contains(out[name]) is None, (name, out[name])
        if isinstance(spec, FloatParam):
            assert type(out[name]) is float, (name, type(out[name]))
        elif isinstance(spec, IntParam):
            assert type(out[name]) is int, (name, type(out[name]))


# -- exploit_pairs ------------------------------------------------------------------------


def test_the_bottom_quantile_copies_the_top_quantile():
    scores = {i: float(i) for i in range(8)}  # 7 is best, 0 worst
    pairs = exploit_pairs(scores, 0.25, rng())
    assert set(pairs) == {0, 1}
    assert set(pairs.values()) <= {6, 7}


def test_ties_rank_the_lower_id_higher():
    pairs = exploit_pairs({3: 1.0, 1: 1.0, 2: 1.0, 0: 1.0}, 0.25, rng())
    assert pairs == {3: 0}


def test_failed_members_are_always_recipients_and_never_donors():
    scores = {0: 5.0, 1: math.nan, 2: 3.0, 3: -math.inf, 4: 4.0, 5: 1.0, 6: 2.0, 7: 6.0}
    for seed in range(50):
        pairs = exploit_pairs(scores, 0.125, rng(seed))
        assert {1, 3} <= set(pairs)
        assert not {1, 3} & set(pairs.values())
        assert set(pairs.values()) <= {7}
    # Failures crowding the top quantile: the donors are the healthy members among it.
    crowded = {0: math.nan, 1: math.nan, 2: math.nan, 3: 1.0}
    for seed in range(20):
        assert exploit_pairs(crowded, 0.5, rng(seed)) == {0: 3, 1: 3, 2: 3}


def test_no_pairs_when_all_failed_or_alone():
    assert exploit_pairs({0: math.nan, 1: -math.inf, 2: math.nan}, 0.25, rng()) == {}
    assert exploit_pairs({0: 1.0}, 0.5, rng()) == {}
    assert exploit_pairs({}, 0.5, rng()) == {}


@pytest.mark.parametrize("quantile", [0.0, -0.1, 0.51, 1.0, math.nan])
def test_an_invalid_quantile_is_refused(quantile):
    with pytest.raises(ValueError, match=r"quantile: pass a fraction in \(0, 0.5\]"):
        exploit_pairs({0: 1.0, 1: 2.0}, quantile, rng())


def test_exploit_is_deterministic_for_a_seed_and_never_self_donates():
    gen = np.random.default_rng(123)
    for trial in range(200):
        size = int(gen.integers(2, 12))
        scores = {i: float(gen.normal()) for i in range(size)}
        for i in range(size):
            if gen.random() < 0.2:
                scores[i] = math.nan
        quantile = float(gen.uniform(0.01, 0.5))
        pairs = exploit_pairs(scores, quantile, rng(trial))
        assert pairs == exploit_pairs(scores, quantile, rng(trial))
        assert all(recipient != donor for recipient, donor in pairs.items())
        assert not set(pairs) & set(pairs.values())


def test_a_half_quantile_of_an_odd_population_does_not_overlap():
    pairs = exploit_pairs({0: 0.0, 1: 1.0, 2: 2.0}, 0.5, rng())
    assert pairs == {0: 2}


# -- perturb -------------------------------------------------------------------------------


@pytest.mark.parametrize("resample_probability", [0.0, 0.25, 1.0])
def test_every_perturbed_value_stays_inside_its_spec(resample_probability):
    gen = rng(7)
    values = dict(START)
    for _ in range(2000):
        values = perturb(values, SPECS, gen, resample_probability=resample_probability)
        assert_inside(values)


def test_repeated_perturbation_from_every_bound_stays_inside():
    gen = rng(11)
    for bound in ("low", "high"):
        values = {n: getattr(s, bound) for n, s in SPECS.items() if hasattr(s, bound)}
        values["act"] = "gelu"
        for _ in range(500):
            values = perturb(values, SPECS, gen, resample_probability=0.0, factors=(0.5, 2.0))
            assert_inside(values)


def test_a_value_at_a_bound_multiplied_past_it_is_clipped():
    specs = {"clip": SPECS["clip"], "epochs": SPECS["epochs"], "lr": SPECS["lr"]}
    up = perturb({"clip": 0.4, "epochs": 20, "lr": 0.1}, specs, rng(), resample_probability=0.0,
                 factors=(1.2,))  # fmt: skip
    assert up == {"clip": 0.4, "epochs": 20, "lr": 0.1}
    down = perturb({"clip": 0.1, "epochs": 1, "lr": 1e-5}, specs, rng(), resample_probability=0.0,
                   factors=(0.8,))  # fmt: skip
    assert down == {"clip": 0.1, "epochs": 1, "lr": 1e-5}
    assert_inside(up, specs)
    assert_inside(down, specs)


def test_without_resampling_a_float_is_scaled_by_exactly_one_factor():
    specs = {"clip": SPECS["clip"], "lr": SPECS["lr"]}
    seen = set()
    for seed in range(200):
        out = perturb({"clip": 0.25, "lr": 1e-3}, specs, rng(seed), resample_probability=0.0)
        assert out["clip"] in (0.25 * 0.8, 0.25 * 1.2)
        assert out["lr"] in (1e-3 * 0.8, 1e-3 * 1.2)
        seen.add(out["clip"])
    assert len(seen) == 2


def test_ints_move_at_least_one_step_and_land_on_the_grid():
    specs = {"batch": SPECS["batch"], "epochs": SPECS["epochs"]}
    up = perturb({"batch": 32, "epochs": 2}, specs, rng(), resample_probability=0.0, factors=(1.2,))
    assert up == {"batch": 48, "epochs": 3}  # 38.4 and 2.4 would round back
    down = perturb({"batch": 32, "epochs": 2}, specs, rng(), resample_probability=0, factors=(0.8,))
    assert down == {"batch": 16, "epochs": 1}
    far = perturb(
        {"batch": 160, "epochs": 10}, specs, rng(), resample_probability=0, factors=(1.2,)
    )
    assert far == {"batch": 192, "epochs": 12}


def test_a_categorical_moves_to_a_neighbour():
    spec = {"act": SPECS["act"]}
    moves = {
        c: {perturb({"act": c}, spec, rng(s), resample_probability=0.0)["act"] for s in range(50)}
        for c in SPECS["act"].choices
    }
    assert moves == {
        "tanh": {"relu"},
        "relu": {"tanh", "elu"},
        "elu": {"relu", "gelu"},
        "gelu": {"elu"},
    }
    single = {"x": CategoricalParam(choices=[True])}
    assert perturb({"x": True}, single, rng(), resample_probability=0.0) == {"x": True}


def test_resampling_draws_across_the_whole_range():
    specs = {"lr": SPECS["lr"], "act": SPECS["act"]}
    draws = [perturb(START, specs, rng(s), resample_probability=1.0) for s in range(400)]
    logs = [math.log10(d["lr"]) for d in draws]
    assert min(logs) < -4.5 and max(logs) > -1.5  # log-uniform over [1e-5, 1e-1]
    assert 0.35 < sum(v < -3 for v in logs) / len(logs) < 0.65
    assert {d["act"] for d in draws} == set(SPECS["act"].choices)


def test_untouched_keys_are_copied_and_the_input_is_not_changed():
    values = dict(START, seed=3, env={"id": "CartPole-v1"})
    before = dict(values)
    out = perturb(values, {"lr": SPECS["lr"]}, rng())
    assert values == before
    assert out["seed"] == 3 and out["env"] is values["env"]
    assert {k: v for k, v in out.items() if k != "lr"} == {
        k: v for k, v in before.items() if k != "lr"
    }


def test_a_missing_value_is_a_key_error():
    with pytest.raises(KeyError, match="lr"):
        perturb({"clip": 0.2}, {"lr": SPECS["lr"], "clip": SPECS["clip"]}, rng())


def test_values_outside_the_spec_are_brought_inside():
    gen = rng(5)
    stale = {
        "lr": 0.5,
        "clip": -3.0,
        "gae": 0.9312,
        "batch": 1000,
        "epochs": 0,
        "layers": 500,
        "act": "swish",
    }
    for _ in range(200):
        assert_inside(perturb(stale, SPECS, gen))
    out = perturb(stale, SPECS, gen, resample_probability=0.0, factors=(1.0,))
    assert out["lr"] == 0.1 and out["clip"] == 0.1 and out["gae"] == pytest.approx(0.95)
    assert (out["batch"], out["epochs"], out["layers"]) == (256, 1, 64)
    assert out["act"] in SPECS["act"].choices


def test_numpy_inputs_come_back_as_python_scalars():
    values = {"lr": np.float32(1e-3), "epochs": np.int64(5), "clip": np.float64(0.3)}
    specs = {n: SPECS[n] for n in values}
    for seed in range(50):
        assert_inside(perturb(values, specs, rng(seed)), specs)


# -- pb2_suggest ---------------------------------------------------------------------------


def quadratic_history(seed: int, generations: int = 5, population: int = 8) -> list[Observation]:
    """improvement = -(log10(lr) + 3)^2 + noise: best at lr = 1e-3."""
    gen = rng(seed)
    history = []
    for g in range(generations):
        for _ in range(population):
            lr = 10 ** gen.uniform(-5, -1)
            improvement = -((math.log10(lr) + 3) ** 2) + gen.normal(0, 0.1)
            history.append(Observation(generation=g, values={"lr": lr}, improvement=improvement))
    return history


@pytest.mark.parametrize("history_seed", [0, 1, 2])
def test_pb2_suggestions_concentrate_near_the_best_learning_rate(history_seed):
    history = quadratic_history(history_seed)
    specs = {"lr": SPECS["lr"]}
    errors = []
    for seed in range(20):
        out = pb2_suggest(history, {"lr": 1e-2}, specs, 5, rng(seed))
        assert_inside(out, specs)
        errors.append(abs(math.log10(out["lr"]) + 3))
    # Uniform draws on [-5, -1] would give a median distance of 1.0.
    assert statistics.median(errors) < 0.5, errors


def test_pb2_falls_back_to_perturb_with_fewer_than_three_observations():
    history = quadratic_history(0)[:2]
    for seed in range(20):
        suggested = pb2_suggest(history, START, SPECS, 1, rng(seed))
        assert suggested == perturb(START, SPECS, rng(seed))


def test_pb2_falls_back_to_perturb_on_constant_improvements():
    history = [Observation(g, {"lr": 10.0**-g}, 1.5) for g in range(1, 5)]
    specs = {"lr": SPECS["lr"]}
    assert pb2_suggest(history, {"lr": 1e-3}, specs, 5, rng(3)) == perturb(
        {"lr": 1e-3}, specs, rng(3)
    )


def test_pb2_respects_bounds_grids_and_types_and_moves_categoricals():
    gen = rng(9)
    history = []
    for g in range(4):
        for _ in range(6):
            values = perturb(START, SPECS, gen, resample_probability=1.0)
            history.append(Observation(g, values, float(gen.normal())))
    history.append(Observation(1, {"lr": 1e-3}, 0.0))  # an older space: no longer fitted
    history.append(Observation(2, dict(START, lr=math.nan), 0.0))
    history.append(Observation(2, dict(START), math.nan))
    neighbours = {"tanh": {"relu"}, "relu": {"tanh", "elu"}, "elu": {"relu", "gelu"}}
    for seed in range(30):
        current = dict(START, act=["tanh", "relu", "elu"][seed % 3], seed=seed)
        out = pb2_suggest(history, current, SPECS, 4, rng(seed), candidates=64)
        assert_inside(out)
        assert out["act"] in neighbours[current["act"]]
        assert out["seed"] == seed


def test_pb2_brings_an_out_of_bounds_current_value_inside():
    history = quadratic_history(4, generations=2, population=4)
    out = pb2_suggest(history, {"lr": 3.0}, {"lr": SPECS["lr"]}, 2, rng())
    assert_inside(out, {"lr": SPECS["lr"]})


def test_pb2_needs_every_value():
    with pytest.raises(KeyError, match="lr"):
        pb2_suggest(quadratic_history(0), {}, {"lr": SPECS["lr"]}, 5, rng())
