"""Named constraints a space declares (``constraints: {name: {args}}``) and how each repairs.

Each constraint sees the SB3-level configuration (keyword arguments and env settings, SB3
defaults filling what a space leaves out), changes it until it holds and notes what it changed.
Repairs run in ``ORDER`` whatever order the YAML lists them in. A configuration that cannot be
repaired raises ``SpaceError("infeasible: ...")``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from autorl.errors import SpaceError
from autorl.spaces.catalog import SB3_DEFAULTS

EPS = 1e-9


@dataclass
class Draft:
    """A configuration being resolved: SB3 keyword arguments and env settings."""

    algo: str
    kind: str
    kwargs: dict[str, Any]
    env: dict[str, Any]
    repairs: list[str] = field(default_factory=list)

    def get(self, name: str) -> Any:
        if name in self.kwargs:
            return self.kwargs[name]
        return SB3_DEFAULTS[self.algo].get(name)

    @property
    def n_envs(self) -> int:
        return int(self.env.get("n_envs", 1))

    @property
    def rollout(self) -> int:
        return int(self.get("n_steps")) * self.n_envs

    def change(self, name: str, value: Any, why: str) -> None:
        self.repairs.append(f"{name} {self.get(name)!r} -> {value!r}: {why}")
        self.kwargs[name] = value


class _NoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _MaxRollout(_NoArgs):
    max_steps: int = Field(ge=2, strict=True)


class _MaxUpdates(_NoArgs):
    max: float = Field(gt=0, strict=True)


def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


# --- sde_requires_box -------------------------------------------------------------------------


def _sde_violation(d: Draft, args: BaseModel) -> str | None:
    if d.get("use_sde") and d.kind != "box":
        return f"use_sde needs a box action space; this env's is {d.kind}"
    return None


def _sde_repair(d: Draft, args: BaseModel) -> None:
    if _sde_violation(d, args):
        d.change("use_sde", False, f"gSDE needs a box action space (this env's is {d.kind})")
        for name in ("sde_sample_freq", "use_sde_at_warmup"):
            d.kwargs.pop(name, None)


# --- max_rollout ------------------------------------------------------------------------------


def _rollout_violation(d: Draft, args: BaseModel) -> str | None:
    limit = args.max_steps  # type: ignore[attr-defined]
    if d.rollout > limit:
        return f"rollout n_steps*n_envs = {d.rollout} exceeds max_rollout {limit}"
    return None


def _rollout_repair(d: Draft, args: BaseModel) -> None:
    limit = args.max_steps  # type: ignore[attr-defined]
    if d.rollout <= limit:
        return
    n_steps = limit // d.n_envs
    if n_steps < 1:
        raise SpaceError(
            f"infeasible: n_envs {d.n_envs} alone exceeds max_rollout {limit}; "
            "lower n_envs or raise max_steps"
        )
    d.change("n_steps", n_steps, f"rollout n_steps*n_envs was {d.rollout} > max_rollout {limit}")


# --- batch_divides_rollout --------------------------------------------------------------------


def _batch_violation(d: Draft, args: BaseModel) -> str | None:
    if d.rollout % int(d.get("batch_size")):
        return f"batch_size {d.get('batch_size')} does not divide n_steps*n_envs = {d.rollout}"
    return None


def _batch_repair(d: Draft, args: BaseModel) -> None:
    batch, rollout = int(d.get("batch_size")), d.rollout
    if rollout % batch == 0:
        return
    fits = [x for x in _divisors(rollout) if x <= batch]
    if fits[-1] < 2:
        raise SpaceError(
            f"infeasible: no divisor of the rollout n_steps*n_envs = {rollout} between 2 and "
            f"batch_size {batch}; use powers of two for n_steps and batch_size"
        )
    d.change(
        "batch_size", fits[-1], f"the largest divisor of n_steps*n_envs = {rollout} <= {batch}"
    )


# --- max_grad_updates_per_step ----------------------------------------------------------------


def _ppo_updates(d: Draft) -> float:
    rollout = d.rollout
    return int(d.get("n_epochs")) * math.ceil(rollout / int(d.get("batch_size"))) / rollout


def _train_freq(d: Draft) -> tuple[int, str | None]:
    """``train_freq`` as (n, unit); unit None for a plain int (SB3 reads it as steps)."""
    value = d.get("train_freq")
    if isinstance(value, list | tuple):
        return int(value[0]), str(value[1])
    return int(value), None


def _off_policy_updates(d: Draft) -> float:
    # Episodes last >= 1 step, so for train_freq in episodes this is an upper bound.
    freq, _ = _train_freq(d)
    collected = freq * d.n_envs
    steps = int(d.get("gradient_steps"))
    return (collected if steps == -1 else steps) / collected


def updates_per_step(d: Draft) -> float:
    """Gradient updates per environment step the configuration will make (at most)."""
    return _ppo_updates(d) if d.algo == "ppo" else _off_policy_updates(d)


def _updates_violation(d: Draft, args: BaseModel) -> str | None:
    limit = args.max  # type: ignore[attr-defined]
    if updates_per_step(d) > limit + EPS:
        return f"{updates_per_step(d):.4g} gradient updates per env step exceed the max {limit:g}"
    return None


def _updates_repair(d: Draft, args: BaseModel) -> None:
    limit = args.max  # type: ignore[attr-defined]
    before = updates_per_step(d)
    if before <= limit + EPS:
        return
    why = f"{before:.4g} gradient updates per env step > max_grad_updates_per_step {limit:g}"
    if d.algo == "ppo":
        _repair_ppo_updates(d, limit, why)
    else:
        _repair_off_policy_updates(d, limit, why)


def _repair_ppo_updates(d: Draft, limit: float, why: str) -> None:
    rollout = d.rollout
    allowed = math.floor(limit * rollout + EPS)  # minibatch updates allowed per rollout
    if allowed < 1:
        raise SpaceError(
            f"infeasible: even one update per rollout of {rollout} steps exceeds "
            f"max_grad_updates_per_step {limit:g}; raise n_steps or n_envs"
        )
    minibatches = math.ceil(rollout / int(d.get("batch_size")))
    epochs = allowed // minibatches
    if epochs >= 1:
        d.change("n_epochs", epochs, why)
        return
    if int(d.get("n_epochs")) != 1:
        d.change("n_epochs", 1, why)
    batch = next(x for x in _divisors(rollout) if math.ceil(rollout / x) <= allowed)
    d.change("batch_size", batch, why + " even with one epoch")


def _repair_off_policy_updates(d: Draft, limit: float, why: str) -> None:
    freq, unit = _train_freq(d)
    steps = math.floor(limit * freq * d.n_envs + EPS)
    if steps >= 1:
        d.change("gradient_steps", steps, why)
        return
    if int(d.get("gradient_steps")) != 1:
        d.change("gradient_steps", 1, why)
    freq = math.ceil(1 / (limit * d.n_envs) - EPS)
    d.change("train_freq", freq if unit is None else [freq, unit], why + " with one update")


@dataclass(frozen=True)
class Constraint:
    """A named rule: who it applies to, its arguments, how to check and repair it."""

    name: str
    algos: frozenset[str]
    args: type[BaseModel]
    violation: Callable[[Draft, BaseModel], str | None]
    repair: Callable[[Draft, BaseModel], None]
    summary: str


CONSTRAINTS: dict[str, Constraint] = {
    c.name: c
    for c in (
        Constraint(
            "sde_requires_box",
            frozenset({"ppo", "a2c", "sac"}),
            _NoArgs,
            _sde_violation,
            _sde_repair,
            "gSDE only on box action spaces; elsewhere use_sde is turned off",
        ),
        Constraint(
            "max_rollout",
            frozenset({"ppo", "a2c"}),
            _MaxRollout,
            _rollout_violation,
            _rollout_repair,
            "n_steps*n_envs <= max_steps; n_steps is lowered",
        ),
        Constraint(
            "batch_divides_rollout",
            frozenset({"ppo"}),
            _NoArgs,
            _batch_violation,
            _batch_repair,
            "batch_size divides n_steps*n_envs; batch_size becomes the largest divisor <= it",
        ),
        Constraint(
            "max_grad_updates_per_step",
            frozenset({"ppo", "dqn", "sac", "td3"}),
            _MaxUpdates,
            _updates_violation,
            _updates_repair,
            "gradient updates per env step <= max; n_epochs / gradient_steps are lowered",
        ),
    )
}
ORDER: tuple[str, ...] = tuple(CONSTRAINTS)


# --- the run's step budget (not declared: it depends on the study, not the space) ------------

MIN_ROLLOUTS_PER_RUN = 4  # on-policy: at least this many policy updates in a training run
MAX_WARMUP_FRACTION = 0.25  # off-policy: learning starts within the first quarter of the run


def fit_budget(d: Draft, timesteps: int) -> None:
    """Keep a configuration within a training run of ``timesteps`` env steps.

    SB3 collects whole rollouts, so an on-policy rollout larger than the budget silently trains
    for more steps than asked (and updates the policy once or never); an off-policy warm-up
    longer than the run never learns. n_steps is lowered to a power of two that leaves
    ``MIN_ROLLOUTS_PER_RUN`` rollouts; learning_starts to a quarter of the run.
    """
    if d.algo in ("ppo", "a2c"):
        limit = timesteps // MIN_ROLLOUTS_PER_RUN
        if d.rollout <= limit:
            return
        per_env = limit // d.n_envs
        if per_env < 2:
            raise SpaceError(
                f"infeasible: {timesteps} steps leave fewer than 2 steps per env for "
                f"{MIN_ROLLOUTS_PER_RUN} rollouts of {d.n_envs} envs; raise --timesteps or "
                "lower n_envs"
            )
        n_steps = 2 ** int(math.log2(per_env))
        d.change(
            "n_steps",
            n_steps,
            f"rollout {d.rollout} > {timesteps} steps / {MIN_ROLLOUTS_PER_RUN} rollouts per run",
        )
        return
    warmup = d.get("learning_starts")
    limit = int(timesteps * MAX_WARMUP_FRACTION)
    if warmup is not None and int(warmup) > limit:
        d.change("learning_starts", limit, f"warm-up longer than a quarter of {timesteps} steps")
