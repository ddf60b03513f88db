"""PBT's exploit and explore steps, and PB2's GP-guided explore, as pure functions.

Nothing here trains, stores or schedules: given scores, current values and the parameter specs
(float, int and categorical ones; fixed parameters are never explored), the functions say who
copies whom and which values the copies continue with. Every value they return is inside its
spec (``spec.contains(v) is None``), ints as ``int`` and floats as ``float``.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autorl.spaces.params import CategoricalParam, FloatParam, IntParam, ParamSpec, same

logger = logging.getLogger(__name__)

Numeric = FloatParam | IntParam

# PB2's GP: hyperparameters picked from these grids by log marginal likelihood.
LENGTHSCALES = (0.05, 0.1, 0.2, 0.4, 0.8)  # of the SE kernel, inputs scaled to [0, 1]
EPSILONS = (0.01, 0.1, 0.3)  # time decay: k_t = (1 - eps) ** (|t - t'| / 2)
NOISES = (1e-3, 1e-2, 1e-1)  # noise variance, targets standardised
JITTER = 1e-8
MAX_OBSERVATIONS = 256  # the most recent ones are fitted (old ones matter little: time decay)
TARGET_CLIP = 3.0  # standardised improvements are clipped to +-3 (one lucky member's outlier)


def exploit_pairs(
    scores: Mapping[int, float], quantile: float, rng: np.random.Generator
) -> dict[int, int]:
    """Synchronous PBT's exploit step: recipient -> donor (whose weights and values it copies).

    Members are ranked by score, best first (NaN and -inf are failures and rank last; ties go
    to the lower id). The bottom ``n = max(1, round(len * quantile))`` (at most half the
    population, so the two ends never overlap) and every failed member copy a donor drawn
    uniformly from the top ``n``, failed members left out. Fewer than 2 members or all failed:
    ``{}``.
    """
    if not isinstance(quantile, numbers.Real) or not 0 < quantile <= 0.5:
        raise ValueError(f"quantile: pass a fraction in (0, 0.5], e.g. 0.25; got {quantile!r}")
    failed = {m for m, s in scores.items() if math.isnan(s) or s == -math.inf}
    if len(scores) < 2 or len(failed) == len(scores):
        return {}
    ranked = sorted(scores, key=lambda m: (m in failed, 0.0 if m in failed else -scores[m], m))
    n = min(max(1, round(len(ranked) * quantile)), len(ranked) // 2)
    donors = [m for m in ranked[:n] if m not in failed]
    recipients = sorted(set(ranked[-n:]) | failed)
    pairs = {r: donors[int(rng.integers(len(donors)))] for r in recipients}
    logger.debug("exploit: %d of %d members copy one of %s", len(pairs), len(ranked), donors)
    return pairs


def perturb(
    values: Mapping[str, Any],
    specs: Mapping[str, ParamSpec],
    rng: np.random.Generator,
    *,
    resample_probability: float = 0.25,
    factors: tuple[float, ...] = (0.8, 1.2),
) -> dict[str, Any]:
    """PBT's random explore step (Jaderberg et al. 2017, Ray Tune's defaults).

    Each name in ``specs`` is, with probability ``resample_probability``, drawn afresh from its
    spec; otherwise a number is multiplied by a factor drawn from ``factors`` (then clipped and
    snapped to its grid; an int or stepped float that rounding would leave in place moves one
    step the factor's way when the bound allows), and a categorical moves to a neighbouring
    choice. Values outside their spec are first brought inside. Other names are copied as-is.
    """
    if not 0 <= (p := resample_probability) <= 1:
        raise ValueError(f"resample_probability: pass a probability in [0, 1], got {p}")
    if not factors or not all(math.isfinite(f) and f > 0 for f in factors):
        raise ValueError(f"factors: pass one or more finite positive numbers, got {factors!r}")
    _check_names(values, specs)
    out = dict(values)
    for name, spec in specs.items():
        current = _inside(name, spec, values[name], rng)
        if rng.random() < resample_probability:
            out[name] = _draw(spec, rng)
        elif isinstance(spec, CategoricalParam):
            out[name] = _neighbour(spec, current, rng)
        else:
            out[name] = _scale(spec, current, factors[int(rng.integers(len(factors)))])
    return out


@dataclass(frozen=True)
class Observation:
    """One member's segment of training, as PB2's GP sees it."""

    generation: int  # the segment's index in time (0, 1, ...)
    values: Mapping[str, Any]  # the explored parameters' values during that segment
    improvement: float  # score at the segment's end minus the member's score at its start


def pb2_suggest(
    history: Sequence[Observation],
    values: Mapping[str, Any],
    specs: Mapping[str, ParamSpec],
    generation: int,
    rng: np.random.Generator,
    *,
    candidates: int = 512,
) -> dict[str, Any]:
    """PB2's explore step (Parker-Holder et al., NeurIPS 2020): GP-UCB over the numeric values.

    A GP with the time-varying kernel ``k_SE(x, x') * (1 - eps) ** (|t - t'| / 2)`` is fitted to
    the standardised improvements (inputs: time scaled to [0, 1] over the history, and each
    numeric parameter scaled to [0, 1], log10 for log ones; lengthscale, eps and noise from
    small grids by marginal likelihood). At time ``generation`` the best of ``candidates``
    uniform points (and the current values) by ``mean + kappa * std`` is returned, with
    ``kappa = sqrt(max(0, 0.2 * log(0.4 * n)))`` for n observations: the TV-GP-UCB schedule of
    the PB2 reference code (Ray Tune), which explores little and grows slowly with the data.
    Categoricals are not modelled: they take ``perturb``'s neighbour move. Fewer than 3
    usable observations, constant improvements or no numeric parameter: ``perturb``.
    """
    if candidates < 1:
        raise ValueError(f"candidates: pass a positive count, got {candidates}")
    _check_names(values, specs)
    numeric = {n: s for n, s in specs.items() if isinstance(s, FloatParam | IntParam)}
    rows, times, targets = [], [], []
    for obs in sorted(history, key=lambda o: o.generation)[-MAX_OBSERVATIONS:]:
        row = [_unit(s, obs.values.get(n)) for n, s in numeric.items()]
        if all(u is not None for u in row) and math.isfinite(obs.improvement):
            rows.append(row)
            times.append(float(obs.generation))
            targets.append(float(obs.improvement))
    y = np.asarray(targets)
    if not numeric or len(rows) < 3 or np.ptp(y) <= 1e-12 * (1.0 + np.abs(y).max()):
        logger.debug("pb2: %d usable observations, no GP model: random perturbation", len(rows))
        return perturb(values, specs, rng)
    t0, span = min(times), (max(times) - min(times)) or 1.0
    x, t = np.asarray(rows, dtype=float), (np.asarray(times) - t0) / span
    y = np.clip((y - y.mean()) / y.std(), -TARGET_CLIP, TARGET_CLIP)
    fit = _fit_gp(x, t, y)
    if fit is None:
        logger.debug("pb2: no GP fit succeeded: random perturbation")
        return perturb(values, specs, rng)
    chol, alpha, lengthscale, eps = fit
    current = [_unit(s, _inside(n, s, values[n], rng)) for n, s in numeric.items()]
    pool = np.vstack([rng.random((candidates, len(numeric))), np.asarray([current], dtype=float)])
    k_star = _se(pool, x, lengthscale) * (1.0 - eps) ** (np.abs((generation - t0) / span - t) / 2)
    mean = k_star @ alpha
    std = np.sqrt(np.clip(1.0 - (np.linalg.solve(chol, k_star.T) ** 2).sum(axis=0), 0.0, None))
    kappa = math.sqrt(max(0.0, 0.2 * math.log(0.4 * len(y))))
    best = pool[int(np.argmax(mean + kappa * std))]
    logger.debug("pb2: n=%d lengthscale=%g eps=%g kappa=%.2f", len(y), lengthscale, eps, kappa)
    out = dict(values)
    for (name, spec), u in zip(numeric.items(), best, strict=True):
        out[name] = _from_unit(spec, float(u))
    categorical = {n: s for n, s in specs.items() if n not in numeric}
    if categorical:
        moved = perturb(values, categorical, rng, resample_probability=0.0)
        out.update({n: moved[n] for n in categorical})
    return out


def _check_names(values: Mapping[str, Any], specs: Mapping[str, ParamSpec]) -> None:
    missing = [n for n in specs if n not in values]
    if missing:
        raise KeyError(f"no current value for {missing}: pass a value for every name in specs")


def _inside(name: str, spec: ParamSpec, value: Any, rng: np.random.Generator) -> Any:
    """``value`` brought inside ``spec`` (clipped, snapped; a lost choice or NaN: a fresh draw)."""
    if isinstance(spec, CategoricalParam):
        if spec.contains(value) is None:
            return value
    elif not isinstance(spec, FloatParam | IntParam):
        raise TypeError(f"{name}: only float, int and categorical parameters are explored")
    elif isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {value!r}")
    elif not math.isnan(value):
        return _snap(spec, float(value))
    logger.warning("%s: %r is not a value of %s: drawing a new one", name, value, spec.type)
    return _draw(spec, rng)


def _grid(spec: Numeric) -> tuple[float, float, int] | None:
    """(low, step, largest k) of the grid ``low + k * step``, or None for a continuous float."""
    if isinstance(spec, IntParam):
        return spec.low, spec.step, (spec.high - spec.low) // spec.step
    if spec.step is None:
        return None
    return spec.low, spec.step, math.floor((spec.high - spec.low) / spec.step + 1e-9)


def _on_grid(spec: Numeric, k: int) -> int | float:
    if isinstance(spec, IntParam):
        return int(spec.low + k * spec.step)
    return float(min(spec.low + k * (spec.step or 1.0), spec.high))


def _snap(spec: Numeric, x: float) -> int | float:
    """``x`` clipped to the bounds and rounded to the nearest grid point, as the spec's type."""
    x = min(max(x, spec.low), spec.high)
    grid = _grid(spec)
    if grid is None:
        return float(x)
    low, step, kmax = grid
    return _on_grid(spec, min(max(round((x - low) / step), 0), kmax))


def _scale(spec: Numeric, current: float, factor: float) -> int | float:
    target = current * factor
    new = _snap(spec, target)
    grid = _grid(spec)
    if grid is not None and new == current and factor != 1:
        low, step, kmax = grid
        direction = int(np.sign(target - current)) or (1 if factor > 1 else -1)
        k = round((current - low) / step) + direction
        if 0 <= k <= kmax:
            new = _on_grid(spec, k)
    return new


def _neighbour(spec: CategoricalParam, current: Any, rng: np.random.Generator) -> Any:
    choices = spec.choices
    i = next(i for i, c in enumerate(choices) if same(c, current))
    if len(choices) == 1:
        return choices[0]
    if i == 0 or i == len(choices) - 1:
        return choices[1 if i == 0 else i - 1]
    return choices[i + (1 if rng.random() < 0.5 else -1)]


def _draw(spec: ParamSpec, rng: np.random.Generator) -> Any:
    """A fresh value: uniform (log-uniform for log parameters), on the grid."""
    if isinstance(spec, CategoricalParam):
        return spec.choices[int(rng.integers(len(spec.choices)))]
    if not isinstance(spec, FloatParam | IntParam):
        raise TypeError(f"only float, int and categorical parameters are explored, not {spec}")
    if spec.log:
        pad = 0.5 if isinstance(spec, IntParam) else 0.0  # each int gets its share of the range
        lo, hi = math.log(spec.low - pad), math.log(spec.high + pad)
        return _snap(spec, math.exp(rng.uniform(lo, hi)))
    grid = _grid(spec)
    if grid is not None:
        return _on_grid(spec, int(rng.integers(grid[2] + 1)))
    return _snap(spec, float(rng.uniform(spec.low, spec.high)))


def _unit(spec: Numeric, value: Any) -> float | None:
    """``value`` on [0, 1] over the spec's range (log10 for log ones); None if not a number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        return None
    x = min(max(float(value), spec.low), spec.high)
    if spec.log:
        return math.log10(x / spec.low) / math.log10(spec.high / spec.low)
    return (x - spec.low) / (spec.high - spec.low)


def _from_unit(spec: Numeric, u: float) -> int | float:
    if spec.log:
        return _snap(spec, spec.low * (spec.high / spec.low) ** u)
    return _snap(spec, spec.low + u * (spec.high - spec.low))


def _se(a: np.ndarray, b: np.ndarray, lengthscale: float) -> np.ndarray:
    d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1)
    return np.exp(-d2 / (2.0 * lengthscale**2))


def _fit_gp(
    x: np.ndarray, t: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """(Cholesky factor, K^-1 y, lengthscale, eps) of the grid point of best marginal likelihood."""
    dt = np.abs(t[:, None] - t[None, :])
    best: tuple[float, tuple[np.ndarray, np.ndarray, float, float]] | None = None
    for lengthscale in LENGTHSCALES:
        k_x = _se(x, x, lengthscale)
        for eps in EPSILONS:
            k = k_x * (1.0 - eps) ** (dt / 2)
            for noise in NOISES:
                try:
                    chol = np.linalg.cholesky(k + (noise + JITTER) * np.eye(len(y)))
                except np.linalg.LinAlgError:
                    continue
                w = np.linalg.solve(chol, y)
                evidence = -0.5 * float(w @ w) - float(np.log(np.diag(chol)).sum())
                if math.isfinite(evidence) and (best is None or evidence > best[0]):
                    best = (evidence, (chol, np.linalg.solve(chol.T, w), lengthscale, eps))
    return None if best is None else best[1]
