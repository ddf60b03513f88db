"""Scores normalised per task, so that tasks with different reward scales can be compared.

For a task with random-policy return ``r`` (probed once, see ``autorl.envs.features``) and
ceiling ``h`` = the larger of its best observed score and its solved threshold:

    normalised(score) = (score - r) / (h - r)

0 is as good as acting at random, 1 is the best known (or the threshold, if nothing reached
it). Values are clipped to [-1, 1]; a failed trial counts as -1 (worse than random). Without
probed features, ``r`` is the task's worst observed score. A task where nothing beat ``r``
has no scale: all its scores are 0.

A score is only as good as the seeds behind it: a one-seed score of a configuration that
fails on other seeds is the winner's curse of picking the best of many noisy scores.
``Shrink`` weighs it as evidence (empirical Bayes): a score over ``n`` complete seed runs
counts as ``w * normalised + (1 - w) * center`` with ``w = n / (n + SHRINK_SEEDS)`` and
``center`` the median normalised score of the task's scored trials (its typical trial). A
failed trial is not weighed by its own seeds (a failure is not a noisy score): it counts as
``FAILED`` on the task's usual seed count (``Shrink.typical``), so where every trial has the
same seed count the whole map, failures included, is one increasing affine map per task.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from autorl.meta.data import PastTask

FAILED = -1.0
SHRINK_SEEDS = 1.0  # the seed runs' worth of belief in the task's typical trial


@dataclass(frozen=True)
class Scale:
    """The affine map of one task's scores onto the normalised scale."""

    floor: float  # r: the random-policy return (or the worst score seen)
    ceiling: float  # h: best known score or threshold, whichever is higher

    def __call__(self, score: float | None) -> float:
        if score is None or not math.isfinite(score):
            return FAILED
        if self.ceiling <= self.floor:
            return 0.0
        return max(-1.0, min(1.0, (score - self.floor) / (self.ceiling - self.floor)))

    def solved(self, threshold: float | None) -> float | None:
        """The normalised value of a raw threshold."""
        return None if threshold is None else self(threshold)


def task_scale(task: PastTask) -> Scale:
    scores = [t.score for t in task.trials if t.score is not None and math.isfinite(t.score)]
    if task.features is not None:
        floor = task.features.random_return_mean
    elif scores:
        floor = min(scores)
    else:
        floor = 0.0
    ceiling = max(scores, default=floor)
    if task.threshold is not None:
        ceiling = max(ceiling, task.threshold)
    return Scale(floor, ceiling)


def scale_for(scores: list[float], random_return: float | None, threshold: float | None) -> Scale:
    """The scale of a task being tuned now, from what it has produced so far."""
    finite = [s for s in scores if math.isfinite(s)]
    floor = random_return if random_return is not None else min(finite, default=0.0)
    ceiling = max(finite, default=floor)
    if threshold is not None:
        ceiling = max(ceiling, threshold)
    return Scale(floor, ceiling)


def evidence_weight(seeds: int) -> float:
    """How far a score over ``seeds`` complete seed runs is believed over the task's center."""
    return seeds / (seeds + SHRINK_SEEDS)


@dataclass(frozen=True)
class Shrink:
    """One task's normalised scores, shrunk toward its typical trial by their seed counts."""

    scale: Scale
    center: float = 0.0  # median normalised score of the task's scored trials
    typical: int = 1  # the task's usual seed count (median over its scored trials)

    def shrunk(self, norm: float, seeds: int = 1) -> float:
        """A normalised value as evidence from ``seeds`` seed runs."""
        weight = evidence_weight(seeds)
        return weight * norm + (1 - weight) * self.center

    def __call__(self, score: float | None, seeds: int = 1) -> float:
        """The shrunk normalised score; a failure is ``FAILED`` at the usual seed count."""
        if score is None or not math.isfinite(score):
            return self.shrunk(FAILED, self.typical)
        return self.shrunk(self.scale(score), seeds)

    @property
    def floor(self) -> float:
        """The random level (normalised 0) as a score of the task's usual seed count."""
        return self.shrunk(0.0, self.typical)

    def gain(self, score: float | None, seeds: int = 1) -> float:
        """``self(score, seeds) - self.floor``, for comparing across tasks: at the task's usual
        seed count it is exactly ``evidence_weight(seeds) * normalised`` (no center in it),
        so scores measured on different tasks are not favoured by their tasks' centers."""
        usual = evidence_weight(self.typical)
        if score is None or not math.isfinite(score):
            return usual * FAILED
        weight = evidence_weight(seeds)
        return weight * self.scale(score) + (usual - weight) * self.center


def shrink_for(scale: Scale, trials: Iterable[tuple[float | None, int]]) -> Shrink:
    """The shrinkage of a task from its trials' (score, seeds): failed ones (None) left out."""
    scored = [(s, n) for s, n in trials if s is not None and math.isfinite(s)]
    if not scored:
        return Shrink(scale)
    center = statistics.median(scale(s) for s, _ in scored)
    return Shrink(scale, center, statistics.median_low(n for _, n in scored))


def task_shrink(task: PastTask) -> Shrink:
    """``shrink_for`` the task's own scale (``task_scale``) and trials."""
    return shrink_for(task_scale(task), ((t.score, t.seeds) for t in task.trials))
