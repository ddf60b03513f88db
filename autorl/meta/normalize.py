"""Scores normalised per task, so that tasks with different reward scales can be compared.

For a task with random-policy return ``r`` (probed once, see ``autorl.training.features``) and
ceiling ``h`` = the larger of its best observed score and its solved threshold:

    normalised(score) = (score - r) / (h - r)

0 is as good as acting at random, 1 is the best known (or the threshold, if nothing reached
it). Values are clipped to [-1, 1]; a failed trial counts as -1 (worse than random). Without
probed features, ``r`` is the task's worst observed score. A task where nothing beat ``r``
has no scale: all its scores are 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from autorl.meta.data import PastTask

FAILED = -1.0


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
