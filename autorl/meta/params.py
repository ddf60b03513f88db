"""Distances between configurations given as plain parameter dicts.

Numbers are compared on a log scale when they are all positive and span more than a decade
(learning rates, entropy coefficients, batch sizes), scaled by their range over the pool so
that each parameter weighs the same; anything else (strings, booleans) is equal or not.
A parameter missing on one side counts as maximally different.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

Params = Mapping[str, Any]


def params_key(params: Params) -> str:
    """A stable identity of a configuration (equal dicts, equal keys)."""
    text = json.dumps({k: params[k] for k in sorted(params)}, default=str, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class ParamMetric:
    """A distance over a pool of configurations, with per-parameter scales fitted on the pool."""

    def __init__(self, pool: Iterable[Params]) -> None:
        values: dict[str, list[Any]] = {}
        for params in pool:
            for name, value in params.items():
                values.setdefault(name, []).append(value)
        self._scale: dict[str, tuple[bool, float, float]] = {}  # name -> (log, low, span)
        for name, seen in values.items():
            if not all(_is_number(v) for v in seen):
                continue
            log = all(v > 0 for v in seen) and max(seen) > 10 * min(seen)
            mapped = [math.log10(v) if log else float(v) for v in seen]
            low, high = min(mapped), max(mapped)
            self._scale[name] = (log, low, (high - low) or 1.0)

    def _coord(self, name: str, value: Any) -> float | None:
        scale = self._scale.get(name)
        if scale is None or not _is_number(value):
            return None
        log, low, span = scale
        if log and value <= 0:
            return None
        return ((math.log10(value) if log else float(value)) - low) / span

    def distance(self, a: Params, b: Params) -> float:
        """Root mean squared per-parameter difference, each in [0, 1]."""
        names = set(a) | set(b)
        if not names:
            return 0.0
        total = 0.0
        for name in names:
            if name not in a or name not in b:
                total += 1.0
                continue
            ca, cb = self._coord(name, a[name]), self._coord(name, b[name])
            if ca is not None and cb is not None:
                total += min(1.0, (ca - cb) ** 2)
            else:
                total += 0.0 if a[name] == b[name] else 1.0
        return math.sqrt(total / len(names))
