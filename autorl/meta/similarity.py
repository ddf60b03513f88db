"""How much a past task says about the target: same family first, then probed features.

A past task whose action space is of another kind (discrete vs continuous) says nothing: its
configurations may not even apply. Otherwise the weight is

    w = FAMILY_WEIGHT                                if they share a family
    w = OTHER_WEIGHT * exp(-distance(features)^2)    otherwise

where the distance is Euclidean over a few scale-free features (log observation and action
dimensions, log episode limit, log random-return magnitude). Tasks without features get
OTHER_WEIGHT * exp(-1) if they share the action kind, which cannot be known: then 0.
"""

from __future__ import annotations

import math

from autorl.meta.data import PastTask, TargetTask
from autorl.types import TaskFeatures

FAMILY_WEIGHT = 1.0
OTHER_WEIGHT = 0.3


def _size(shape: tuple[int, ...]) -> int:
    return int(math.prod(shape)) if shape else 1


def feature_vector(features: TaskFeatures) -> list[float]:
    """Scale-free numbers that describe a task (for distances)."""
    action_size = features.action.n if features.action.kind == "discrete" else None
    return [
        math.log2(1 + _size(features.observation.shape)),
        math.log2(1 + (action_size or _size(features.action.shape))),
        math.log10(1 + (features.max_episode_steps or features.random_episode_length)),
        math.log10(1 + abs(features.random_return_mean)),
        math.log10(1 + abs(features.reward_per_step_mean)),
    ]


def feature_distance(a: TaskFeatures, b: TaskFeatures) -> float:
    va, vb = feature_vector(a), feature_vector(b)
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(va, vb, strict=True)))


def task_weight(past: PastTask, target: TargetTask) -> float:
    """How much the past task's results count for the target (0 = not at all)."""
    if past.features is not None and target.features is not None:
        if past.features.action.kind != target.features.action.kind:
            return 0.0
        if set(past.families) & set(target.families):
            return FAMILY_WEIGHT
        return OTHER_WEIGHT * math.exp(-(feature_distance(past.features, target.features) ** 2))
    if set(past.families) & set(target.families):
        return FAMILY_WEIGHT
    return 0.0
