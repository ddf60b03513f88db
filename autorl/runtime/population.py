"""Population-based training: start a run, work its segments, step its generations.

Synchronous PBT (Jaderberg et al. 2017) on the study storage. Generation g is one segment per
member: train from the member's checkpoint (or from scratch) to the g-th step boundary with
its values, evaluate it on the generation's episodes (the same seeds for every member), store
the score and the checkpoint. Workers, here or on other machines sharing the database, claim
segments one at a time; the worker that completes a generation queues the next one:

- **exploit**: the bottom ``quantile`` (and every member whose segment failed) copies a top
  member: its checkpoint of this generation (weights, optimiser state, normalisation
  statistics, replay buffer) and its configuration;
- **explore**: a copy perturbs or resamples the configuration's mutable parameters
  (``perturb``) or asks PB2's GP bandit (``pb2``), always inside the space's bounds.

A generation is queued only once all of the previous one is stored, so every member it copies
has a checkpoint (Ray #27170); checkpoints no queued segment starts from are deleted then (the
last generation's stay: the winner ships from one). A worker that dies leaves a segment whose
heartbeat stops; another worker takes it over from the same checkpoint. Which member copies
whom is drawn from a generator seeded by the run's seed and the generation, so two workers
that both see a generation complete queue the same next one (the second insert is refused).
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np

from autorl.db import population as store
from autorl.errors import TrialFailure, UsageError
from autorl.pbt.explore import Observation, exploit_pairs, pb2_suggest, perturb
from autorl.pbt.records import DONE, FAILED, RUNNING, PbtRun, Segment
from autorl.runtime.heartbeat import beating
from autorl.runtime.isolation import ProcessDied, call_apart
from autorl.settings import HeartbeatSettings
from autorl.spaces import SearchSpace
from autorl.spaces.params import FixedParam, ParamSpec
from autorl.stop import raise_if_stopped

log = logging.getLogger(__name__)

POLL_S = 1.0  # how often an idle worker looks for the next generation
SEGMENT_TIMEOUT_S = 6 * 3600.0
EVAL_SEED_BASE = 300_000  # generation g's evaluation episodes: 300000 + 1000 g + i
PINNED = {"lr_schedule": "constant", "clip_schedule": "constant"}


def population_space(space: SearchSpace) -> SearchSpace:
    """``space`` as population-based training searches it: schedules over progress pinned to
    constant (the population's schedule replaces them: SB3 measures an on-policy model's
    progress per ``learn`` call, so a linear schedule would restart every segment); at least
    one parameter must be ``mutable``."""
    pinned = {k: v for k, v in PINNED.items() if k in space.names}
    if pinned:
        space = space.with_fixed(pinned)
    if not mutable_specs(space):
        raise UsageError(
            f"the search space {space.name!r} marks no parameter `mutable: true`: population-"
            "based training has nothing to change during a run (mark e.g. learning_rate)"
        )
    return space


def mutable_specs(
    space: SearchSpace, params: Mapping[str, Any] | None = None
) -> dict[str, ParamSpec]:
    """The searched parameters the population may change (those present in ``params``)."""
    return {
        d.name: d.spec
        for d in space.params
        if d.spec.mutable
        and not isinstance(d.spec, FixedParam)
        and (params is None or d.name in params)
    }


def segment_seed(run_seed: int, member: int, generation: int) -> int:
    """The seed of one segment's envs and sampling: no two segments share a stream."""
    sequence = np.random.SeedSequence([run_seed % 2**32, member, generation])
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


def eval_seed(generation: int) -> int:
    return EVAL_SEED_BASE + 1000 * generation


# --- stepping a generation ---------------------------------------------------------------------


def _history(run: PbtRun, done: list[Segment], names: set[str]) -> list[Observation]:
    """PB2's data: each segment's improvement over the segment its checkpoint came from."""
    score = {(s.member, s.generation): s.score for s in done}
    out = []
    for s in done:
        before = score.get((s.source_member, s.generation - 1))
        if s.generation == 0 or before is None or s.score is None:
            continue
        values = {k: v for k, v in s.params.items() if k in names}
        out.append(Observation(s.generation, values, float(s.score) - float(before)))
    return out


def next_generation(run: PbtRun, finished: list[Segment], done: list[Segment]) -> list[tuple]:
    """``(member, params, source_member)`` of the generation after ``finished`` (one
    generation's segments, all stored): exploit, then explore the copies."""
    generation = finished[0].generation
    space = SearchSpace.from_dict(run.space)
    rng = np.random.default_rng([run.settings.seed % 2**32, generation, 7])
    scores = {s.member: _score(s) for s in finished}
    pairs = exploit_pairs(scores, run.settings.quantile, rng)
    by_member = {s.member: s for s in finished}
    out = []
    for member in sorted(by_member):
        donor = pairs.get(member)
        if donor is None:
            out.append((member, dict(by_member[member].params), member))
            continue
        params = dict(by_member[donor].params)
        specs = mutable_specs(space, params)
        if run.settings.explore == "pb2":
            history = _history(run, done, set(specs))
            params = pb2_suggest(history, params, specs, generation + 1, rng)
        else:
            params = perturb(
                params, specs, rng, resample_probability=run.settings.resample_probability
            )
        log.info(
            "generation %d: member %d (%.4g) copies member %d (%.4g)",
            generation,
            member,
            scores[member],
            donor,
            scores[donor],
        )
        out.append((member, params, donor))
    return out


def _score(segment: Segment) -> float:
    if segment.status != DONE or segment.score is None or not math.isfinite(segment.score):
        return math.nan
    return float(segment.score)


def advance(url: str, run: PbtRun) -> bool:
    """Queue the next generation if the latest one is complete (or end the run after the
    last); True when there is new work."""
    every = store.segments(url, run.id)
    if not every:
        return False
    latest = max(s.generation for s in every)
    finished = [s for s in every if s.generation == latest]
    if any(s.status not in (DONE, FAILED) for s in finished):
        return False
    done = [s for s in every if s.status == DONE]
    if all(math.isnan(_score(s)) for s in finished):
        errors = sorted({s.error or "no finite score" for s in finished})
        store.set_state(
            url,
            run.id,
            FAILED,
            f"every member failed in generation {latest}: {'; '.join(errors)[:2000]}. Every "
            "stored segment is kept; fix the cause and start a new run (another --name)",
        )
        return False
    boundaries = run.settings.boundaries()
    if latest + 1 >= len(boundaries):
        store.set_state(url, run.id, DONE)
        return False
    members = next_generation(run, finished, done)
    return store.queue_generation(
        url, run.id, latest + 1, boundaries[latest], boundaries[latest + 1], members
    )


# --- working segments --------------------------------------------------------------------------


def _train(spec: Any, checkpoint: bytes | None) -> Any:
    """In the segment's child process: its result, or the ``TrialFailure`` as a value (an
    exception would reach the parent as a plain error)."""
    from autorl.training.segments import train_segment

    try:
        return train_segment(spec, checkpoint)
    except TrialFailure as failure:
        return failure


def segment_config(run: PbtRun, params: Mapping[str, Any]) -> Any:
    space = SearchSpace.from_dict(run.space)
    return space.resolve(params, run.action_kind, timesteps=run.settings.timesteps).config


def run_segment(url: str, run: PbtRun, segment: Segment, worker: str, device: str) -> bool:
    """Train one claimed segment in a child process and store its outcome; False when the
    claim was lost meanwhile (another worker took it over)."""
    from autorl.training.segments import SegmentSpec

    checkpoint = None
    if segment.generation > 0:
        source = segment.source_member
        checkpoint = store.load_checkpoint(url, run.id, source, segment.generation - 1)
        if checkpoint is None:  # never: a generation is queued after all its sources stored
            raise RuntimeError(
                f"member {source}'s checkpoint of generation {segment.generation - 1} is "
                f"missing; segment {segment.id} cannot start"
            )
    spec = SegmentSpec(
        task=run.task,
        config=segment_config(run, segment.params),
        seed=segment_seed(run.settings.seed, segment.member, segment.generation),
        until_step=segment.until_step,
        total_timesteps=run.settings.timesteps,
        episodes=run.settings.episodes,
        eval_seed=eval_seed(segment.generation),
        device=device,
    )

    def beat() -> None:
        if not store.beat(url, segment.id, worker):
            log.warning("segment %d was taken over by another worker", segment.id)

    beat_s = HeartbeatSettings.from_env().interval_s
    with beating(beat, beat_s, f"segment {segment.id}"):
        try:
            result = call_apart(_train, spec, checkpoint, timeout_s=SEGMENT_TIMEOUT_S)
        except ProcessDied as exc:
            result = exc
        if isinstance(result, TrialFailure | ProcessDied):
            reason = result.reason.value if isinstance(result, TrialFailure) else "died"
            message = f"{reason}: {result}"
            log.warning(
                "member %d generation %d failed: %s", segment.member, segment.generation, message
            )
            return store.finish_segment(url, segment, worker, None, {}, None, error=message)
    score = result.evaluation.mean
    outcome = {
        "returns": list(result.evaluation.returns),
        "env_steps": result.env_steps,
        "wall_s": round(result.wall_s, 3),
        "restore_ms": round(result.restore_ms, 2),
        "save_ms": round(result.save_ms, 2),
        "checkpoint_bytes": len(result.checkpoint),
    }
    if not math.isfinite(score):
        return store.finish_segment(
            url, segment, worker, None, outcome, None, error="non-finite evaluation return"
        )
    return store.finish_segment(url, segment, worker, score, outcome, result.checkpoint)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def work(url: str, name: str, device: str = "cpu", max_segments: int | None = None) -> int:
    """Work the run's segments until it ends (or ``max_segments`` are done); returns how many
    this worker stored. Stops with the run's state DONE or FAILED."""
    worker = worker_id()
    grace = HeartbeatSettings.from_env().grace_s
    stored = 0
    while max_segments is None or stored < max_segments:
        raise_if_stopped()
        run = store.get_run(url, name)
        if run is None:
            raise UsageError(f"no population-based training run named {name!r} in {url}")
        if run.state != RUNNING:
            break
        segment = store.claim_segment(url, run.id, worker, stale_after_s=grace)
        if segment is None:
            if not advance(url, run):
                time.sleep(POLL_S)
            continue
        try:
            if run_segment(url, run, segment, worker, device):
                stored += 1
        except BaseException:
            store.release(url, segment.id, worker)
            raise
        advance(url, run)
    return stored


def winner(url: str, run: PbtRun) -> Segment | None:
    """The best-scoring member's segment of the last generation (None before the run ends)."""
    last = store.segments(url, run.id, run.settings.generations - 1)
    scored = [s for s in last if not math.isnan(_score(s))]
    if len(last) < run.settings.population or not scored:
        return None
    return max(scored, key=lambda s: (s.score, -s.member))


def lineage(url: str, run: PbtRun, member: int) -> list[Segment]:
    """The segments that made ``member``'s final policy, first to last: its own last
    segment, the one whose checkpoint it started from, and so on back to generation 0."""
    by_key = {(s.member, s.generation): s for s in store.segments(url, run.id)}
    chain = []
    key: tuple[int, int] | None = (member, run.settings.generations - 1)
    while key is not None and key in by_key:
        segment = by_key[key]
        chain.append(segment)
        source = segment.source_member
        key = (
            None if segment.generation == 0 or source is None else (source, segment.generation - 1)
        )
    return chain[::-1]
