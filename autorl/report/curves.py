"""Per-seed learning curves of a trial, from its ``seeds`` attr or its intermediate values."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from optuna.trial import FrozenTrial

from autorl.study import attrs


@dataclass(frozen=True)
class SeedCurve:
    """Evaluations of one training run: ``steps`` are env steps within that seed's run.

    ``from_reports`` is True when the curve was rebuilt from the trial's intermediate values
    (a seed that never finished, so its ``seeds`` entry was never written).
    """

    index: int  # seed index k within the trial
    seed: int
    steps: tuple[int, ...]
    means: tuple[float | None, ...]
    from_reports: bool = False


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _from_seed_entry(index: int, entry: Mapping[str, Any]) -> SeedCurve | None:
    points = []
    for point in entry.get("curve") or []:
        if isinstance(point, Sequence) and len(point) >= 2 and _finite(point[0]) is not None:
            points.append((int(point[0]), _finite(point[1])))
    if not points:
        return None
    points.sort(key=lambda p: p[0])
    seed = entry.get("seed", index)
    return SeedCurve(
        index=index,
        seed=int(seed) if isinstance(seed, int) else index,
        steps=tuple(p[0] for p in points),
        means=tuple(p[1] for p in points),
    )


def seed_curves(trial: FrozenTrial, timesteps: int | None) -> list[SeedCurve]:
    """The trial's curves, one per seed, in seed order.

    Seeds with a ``curve`` in the ``seeds`` attr use it. The others (a seed cut short by a
    failure, a trial still running) are rebuilt from the intermediate values, which are
    reported at ``k * timesteps + env_steps`` for seed index k: an evaluation at the very end
    of seed k (``env_steps == timesteps``) belongs to seed k, hence ``(step - 1) // timesteps``.
    Without ``timesteps`` the intermediate values are returned as one curve, steps unchanged.
    """
    entries = trial.user_attrs.get(attrs.SEEDS) or []
    curves: dict[int, SeedCurve] = {}
    for index, entry in enumerate(entries):
        if isinstance(entry, Mapping) and (curve := _from_seed_entry(index, entry)) is not None:
            curves[index] = curve

    reported = sorted(trial.intermediate_values.items())
    if not timesteps or timesteps <= 0:
        if not curves and reported:
            curves[0] = SeedCurve(
                index=0,
                seed=0,
                steps=tuple(int(s) for s, _ in reported),
                means=tuple(_finite(v) for _, v in reported),
                from_reports=True,
            )
        return [curves[k] for k in sorted(curves)]

    extra: dict[int, list[tuple[int, float | None]]] = defaultdict(list)
    for step, value in reported:
        index = max(0, (int(step) - 1) // timesteps)
        if index not in curves:
            extra[index].append((int(step) - index * timesteps, _finite(value)))
    for index, points in extra.items():
        curves[index] = SeedCurve(
            index=index,
            seed=index,  # tuning runs train seed k for seed index k
            steps=tuple(p[0] for p in points),
            means=tuple(p[1] for p in points),
            from_reports=True,
        )
    return [curves[k] for k in sorted(curves)]


def last_reported(trial: FrozenTrial) -> float | None:
    """The trial's latest intermediate value (a pruned trial's last evaluation), if finite."""
    if not trial.intermediate_values:
        return None
    return _finite(trial.intermediate_values[max(trial.intermediate_values)])
