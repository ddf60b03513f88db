"""Population-based training's bookkeeping on a real SQLite database, without training:
claims, take-overs, generations queued once and only when complete, checkpoint housekeeping,
and the exploit/explore step between generations."""

from __future__ import annotations

import math

import pytest

from autorl.db import population as store
from autorl.errors import StudyError, UsageError
from autorl.pbt.records import DONE, FAILED, QUEUED, RUNNING, PbtSettings
from autorl.runtime.population import advance, lineage, mutable_specs, population_space, winner
from autorl.spaces import SearchSpace, load_space
from autorl.types import TaskSpec

TASK = TaskSpec("CartPole-v1")
SPACE = population_space(load_space("ppo"))


def params(lr: float) -> dict:
    return {"learning_rate": lr, "clip_range": 0.2, "ent_coef": 1e-3, "n_steps": 64}


def new_run(url: str, population: int = 4, **settings):
    chosen = PbtSettings(population=population, timesteps=300, interval=100, **settings)
    initial = [params(10.0 ** -(k + 3)) for k in range(population)]
    return store.create_run(url, "r", TASK, "ppo", "discrete", chosen, SPACE.to_dict(), initial)


def finish_generation(url: str, run, scores: dict[int, float]) -> None:
    for member, score in scores.items():
        segment = store.claim_segment(url, run.id, f"w{member}", stale_after_s=60)
        assert segment is not None and segment.member == member
        failed = math.isnan(score)
        stored = store.finish_segment(
            url,
            segment,
            f"w{member}",
            None if failed else score,
            {"env_steps": segment.until_step},
            None if failed else f"ckpt {member} {segment.generation}".encode(),
            error="env_error: boom" if failed else None,
        )
        assert stored


def test_the_population_space_pins_progress_schedules_and_needs_a_mutable_parameter():
    assert SPACE.fixed["lr_schedule"] == "constant"
    assert set(mutable_specs(SPACE)) == {"learning_rate", "clip_range", "ent_coef"}
    frozen = SearchSpace.from_dict(
        {"algo": "ppo", "params": {"learning_rate": {"type": "float", "low": 1e-4, "high": 1e-3}}}
    )
    with pytest.raises(UsageError, match="marks no parameter `mutable: true`"):
        population_space(frozen)


def test_settings_refuse_what_cannot_run():
    with pytest.raises(UsageError, match="--population must be at least 2"):
        PbtSettings(population=1, timesteps=100, interval=10)
    with pytest.raises(UsageError, match="--interval must be between 1 and --timesteps"):
        PbtSettings(population=4, timesteps=100, interval=200)
    with pytest.raises(UsageError, match="at most 1000: use a larger --interval"):
        PbtSettings(population=4, timesteps=10**6, interval=10)
    assert PbtSettings(population=2, timesteps=250, interval=100).boundaries() == (100, 200, 250)


def test_a_run_name_is_taken_once(sqlite_url):
    new_run(sqlite_url)
    with pytest.raises(StudyError, match="exists already: resume it"):
        new_run(sqlite_url)


def test_a_generation_is_queued_once_and_only_when_complete(sqlite_url):
    run = new_run(sqlite_url)
    finish_generation(sqlite_url, run, {0: 10.0, 1: 20.0, 2: 30.0})
    assert not advance(sqlite_url, run)  # member 3 has not trained: nobody may copy yet
    finish_generation(sqlite_url, run, {3: 40.0})
    assert advance(sqlite_url, run)
    assert not advance(sqlite_url, run)  # a second worker finds it queued
    second = store.segments(sqlite_url, run.id, 1)
    assert [s.status for s in second] == [QUEUED] * 4
    # the bottom quarter (member 0) copies the top quarter (member 3) and explores
    copied = {s.member: s.source_member for s in second}
    assert copied == {0: 3, 1: 1, 2: 2, 3: 3}
    explored = second[0].params
    assert explored["n_steps"] == 64  # the donor's configuration ...
    assert explored["learning_rate"] != 1e-6  # ... with its mutable values explored
    for name, spec in mutable_specs(SPACE).items():
        assert spec.contains(explored[name]) is None


def test_a_failed_member_copies_a_healthy_one_and_all_failed_ends_the_run(sqlite_url):
    run = new_run(sqlite_url)
    finish_generation(sqlite_url, run, {0: 10.0, 1: math.nan, 2: 30.0, 3: 40.0})
    assert advance(sqlite_url, run)
    copied = {s.member: s.source_member for s in store.segments(sqlite_url, run.id, 1)}
    assert copied == {0: 0, 1: 3, 2: 2, 3: 3}  # the failure is the bottom quarter: it copies
    finish_generation(sqlite_url, run, dict.fromkeys(range(4), math.nan))
    assert not advance(sqlite_url, run)
    ended = store.get_run(sqlite_url, "r")
    assert ended.state == FAILED and "every member failed in generation 1" in ended.message
    assert "env_error: boom" in ended.message
    assert len(store.segments(sqlite_url, run.id)) == 8  # every stored result stays


def test_a_stale_claim_is_taken_over_and_the_late_result_refused(sqlite_url):
    run = new_run(sqlite_url, population=2)
    ghost = store.claim_segment(sqlite_url, run.id, "ghost", stale_after_s=60)
    assert ghost.status == RUNNING and ghost.worker == "ghost"
    fresh = store.claim_segment(sqlite_url, run.id, "alive", stale_after_s=60)
    assert fresh.member != ghost.member  # a live claim is not taken
    assert store.claim_segment(sqlite_url, run.id, "alive", stale_after_s=60) is None
    taken = store.claim_segment(sqlite_url, run.id, "heir", stale_after_s=-1)  # all stale now
    assert taken.id == ghost.id and taken.worker == "heir"  # the first stale one, in order
    assert not store.finish_segment(sqlite_url, ghost, "ghost", 1.0, {}, b"x")  # too late
    assert not store.beat(sqlite_url, taken.id, "ghost")
    assert store.finish_segment(sqlite_url, taken, "heir", 2.0, {}, b"x")


def test_checkpoints_nobody_can_start_from_are_deleted_and_the_lineage_is_kept(sqlite_url):
    run = new_run(sqlite_url, population=2)
    for _ in range(3):
        finish_generation(sqlite_url, run, {0: 1.0, 1: 2.0})
        advance(sqlite_url, run)
    assert store.get_run(sqlite_url, "r").state == DONE
    assert store.checkpoint_generations(sqlite_url, run.id) == {1: [0, 1], 2: [0, 1]}
    best = winner(sqlite_url, run)
    assert best.member == 1 and best.generation == 2
    chain = lineage(sqlite_url, run, 0)
    assert [(s.member, s.generation) for s in chain] == [(1, 0), (1, 1), (0, 2)]
    assert chain[-1].exploited and not chain[0].exploited


def test_pb2_learns_from_each_segment_s_improvement_and_stays_in_bounds(sqlite_url, caplog):
    run = new_run(sqlite_url, explore="pb2")
    finish_generation(sqlite_url, run, {0: 10.0, 1: 20.0, 2: 30.0, 3: 40.0})
    assert advance(sqlite_url, run)
    finish_generation(sqlite_url, run, {0: 45.0, 1: 25.0, 2: 60.0, 3: 41.0})
    with caplog.at_level("DEBUG", logger="autorl.pbt.explore"):
        assert advance(sqlite_url, run)
    assert "pb2: n=4" in caplog.text  # four improvements over the copied checkpoints: a GP
    third = store.segments(sqlite_url, run.id, 2)
    copied = [s for s in third if s.exploited]
    assert [s.member for s in copied] == [1] and copied[0].source_member == 2
    for name, spec in mutable_specs(SPACE).items():
        assert spec.contains(copied[0].params[name]) is None
