"""Evidence weighed by seeds: a one-seed score counts for less than a multi-seed aggregate."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from autorl.knowledge.family_best import family_choice
from autorl.knowledge.history import past_trial
from autorl.meta import PastTask, PastTrial, TargetTask, normalize, propose
from autorl.meta.params import params_key
from autorl.meta.table import Table, TableRow, TableTask
from tests.unit.test_meta_strategies import features, quadratic_task

STRATEGIES = ["nearest-best", "portfolio"]
TARGET = TargetTask("t", ("pendulum",), features())


def raced_task(lucky: float, measured: float) -> PastTask:
    """A task whose trials score -600..-300 on one seed, plus a one-seed trial scoring
    ``lucky`` and a 3-seed trial whose aggregate is ``measured``."""
    trials = [PastTrial({"lr": 10 ** (-5 + i / 4)}, -600 + 30 * i, i, "s") for i in range(11)]
    trials.append(PastTrial({"lr": 0.5}, lucky, 20, "s", seeds=1))
    trials.append(PastTrial({"lr": 0.9}, measured, 21, "s", seeds=3))
    return PastTask("a", tuple(trials), ("pendulum",), features(), name="a")


def sig(proposals):
    return [(params_key(p.params), p.source_task, p.source_trial) for p in proposals]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_three_seed_aggregate_beats_a_slightly_higher_one_seed_score(strategy):
    first = propose([raced_task(lucky=-150.0, measured=-160.0)], TARGET, 2, strategy)
    assert [p.source_trial for p in first] == [21, 20]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_one_seed_score_far_above_everything_still_wins(strategy):
    first = propose([raced_task(lucky=-150.0, measured=-400.0)], TARGET, 1, strategy)
    assert first[0].source_trial == 20


def one_seed_history(seed: int) -> list[PastTask]:
    """Tasks with shared configurations and failures, every trial at one seed."""
    rng = random.Random(seed)
    tasks = []
    for t, optimum in enumerate((-4.5, -3.0, -2.2)):
        base = quadratic_task(f"q{t}", optimum, families=("pendulum",) if t < 2 else ("other",))
        trials = [
            replace(trial, score=None) if rng.random() < 0.2 else trial for trial in base.trials
        ]
        trials.append(PastTrial({"lr": 1e-3, "act": "relu"}, rng.uniform(-400, -150), 50, "x"))
        tasks.append(replace(base, trials=tuple(trials)))
    return tasks


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("seed", range(5))
def test_all_one_seed_history_proposes_what_plain_normalised_scores_did(
    strategy, seed, monkeypatch
):
    past = one_seed_history(seed)
    explicit = [
        replace(task, trials=tuple(replace(t, seeds=1) for t in task.trials)) for task in past
    ]
    weighed = sig(propose(past, TARGET, 6, strategy))
    assert sig(propose(explicit, TARGET, 6, strategy)) == weighed
    monkeypatch.setattr(normalize, "SHRINK_SEEDS", 0.0)  # w = 1: plain normalised scores
    assert sig(propose(past, TARGET, 6, strategy)) == weighed


def test_a_failure_counts_as_failed_whatever_its_seeds():
    shrink = normalize.task_shrink(raced_task(-150.0, -160.0))
    assert shrink.typical == 1
    assert shrink(None, 1) == shrink(None, 3) == shrink.shrunk(normalize.FAILED, 1)
    assert shrink.gain(None) == pytest.approx(shrink(None) - shrink.floor)
    assert shrink.gain(-160.0, 3) == pytest.approx(shrink(-160.0, 3) - shrink.floor)


def test_a_trials_seeds_are_its_complete_seed_runs():
    def trial(seeds, state=TrialState.COMPLETE):
        attrs = {} if seeds is None else {"seeds": [{"seed": i, "pruned": p} for i, p in seeds]}
        return create_trial(
            state=state,
            value=1.0 if state == TrialState.COMPLETE else None,
            params={"lr": 0.1},
            distributions={"lr": FloatDistribution(0.01, 1.0)},
            user_attrs=attrs,
            intermediate_values={1: 0.5},
        )

    assert past_trial(trial([(0, False), (1, False), (2, True)]), "s").seeds == 2
    assert past_trial(trial([(0, False), (1, False), (2, False)]), "s").seeds == 3
    assert past_trial(trial(None), "s").seeds == 1  # made before racing, or the seed KB
    assert past_trial(trial([]), "s").seeds == 1
    assert past_trial(trial([(0, True)], TrialState.PRUNED), "s").seeds == 1


def test_table_rows_keep_their_seeds_and_old_lines_read_as_one(tmp_path):
    table = Table()
    table.add_task(TableTask("a", "a@1"))
    table.add_row(TableRow("a", "x", {"lr": 0.1}, -1.0, seeds=3))
    table.add_row(TableRow("a", "y", {"lr": 0.2}, -2.0))
    path = tmp_path / "t.jsonl"
    table.to_jsonl(path)
    lines = path.read_text().splitlines()
    assert sum('"seeds"' in line for line in lines) == 1  # written only where not 1
    loaded = Table.from_jsonl(path)
    assert {c: r.seeds for c, r in loaded.rows["a"].items()} == {"x": 3, "y": 1}
    assert [t.seeds for t in loaded.past_task("a").trials] == [3, 1]


def family_table(seeds_of: dict[str, int]) -> Table:
    """Two tasks; configurations "lucky" and "measured" score the same on both."""
    table = Table()
    for name in ("a", "b"):
        table.add_task(TableTask(name, f"{name}@1", ("pendulum",), features()))
        for i in range(8):
            table.add_row(TableRow(name, f"c{i}", {"lr": i}, -1000.0 + 50 * i))
        for key in ("lucky", "measured"):
            table.add_row(TableRow(name, key, {"k": key}, -200.0, seeds=seeds_of[key]))
    return table


def test_the_family_pick_prefers_a_score_measured_on_more_seeds():
    table = family_table({"lucky": 1, "measured": 3})
    shown = set(table.common_configs())
    assert family_choice(table, shown)[0] == "measured"
    assert family_choice(family_table({"lucky": 3, "measured": 1}), shown)[0] == "lucky"
    # at one seed everywhere, the plain normalised mean decides (the first of equals)
    key, weighed = family_choice(family_table({"lucky": 1, "measured": 1}), shown)
    assert key == "lucky" and weighed == pytest.approx(0.5 * table.scale("a")(-200.0))
    assert math.isfinite(weighed)
