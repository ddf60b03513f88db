"""Numbers and durations as people read them (plain text; escape before putting in HTML)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

DASH = "\u2013"  # en dash: a missing value, a range of seeds
TIMES = "\u00d7"


def number(value: float | None, missing: str = DASH) -> str:
    """4 significant digits, thousands separated; ``missing`` for None or NaN."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return missing
    if isinstance(value, int) or (float(value).is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if abs(value) >= 1000:
        return f"{value:,.1f}"
    return f"{value:.4g}"


def score(mean: float | None, std: float | None) -> str:
    if mean is None:
        return DASH
    return number(mean) if std is None else f"{number(mean)} ± {number(std)}"


def duration(seconds: float | None) -> str:
    """``3 h 02 min``, ``4 min 05 s``, ``12.3 s``."""
    if seconds is None or not math.isfinite(seconds):
        return DASH
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def time_unit(seconds: float) -> tuple[float, str]:
    """A divisor and a unit name that keep ``seconds`` readable on an axis."""
    if seconds >= 2 * 3600:
        return 3600.0, "h"
    if seconds >= 120:
        return 60.0, "min"
    return 1.0, "s"


def param(value: Any) -> str:
    """A sampled parameter value: floats to 4 significant digits, the rest as is."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


AGGREGATE_NAMES = {
    "mean": "mean",
    "iqm": "interquartile mean (IQM)",
    "median": "median",
    "worst": "worst seed",
    "lcb": "lower confidence bound (mean minus one standard error)",
}


def aggregate(method: str | None) -> str:
    """How a configuration's seed scores became one number, in words."""
    if not method:
        return "mean"
    return AGGREGATE_NAMES.get(method, method)


def interval(bounds: Any) -> str | None:
    """``[low, high]`` as ``[a, b]``; None unless it is a pair of numbers."""
    if not isinstance(bounds, (list, tuple)) or len(bounds) != 2:
        return None
    low, high = bounds
    if not all(isinstance(b, (int, float)) for b in (low, high)):
        return None
    return f"[{number(low)}, {number(high)}]"


def seed_list(seeds: Sequence[Any]) -> str:
    return ", ".join(str(s) for s in seeds) if seeds else DASH


def seed_range(first: int, count: int) -> str:
    return str(first) if count == 1 else f"{first}{DASH}{first + count - 1}"


def episode_seeds(first: int, count: int, step: int, run: str = "seed run") -> str:
    """The episode seeds of a study's evaluations; ``step``: the shift per further run."""
    text = seed_range(first, count)
    return f"{text} for the first {run}, shifted by {step} for each further one" if step else text
