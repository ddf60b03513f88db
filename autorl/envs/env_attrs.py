"""Setting physics attributes on an environment after construction (``TaskSpec.env_attrs``).

Some environments compute derived quantities once in ``__init__`` (CartPole's ``total_mass``
and ``polemass_length``); overriding an input without recomputing them gives physics that
match neither the old nor the new values. ``DERIVED`` recomputes them, keyed by the
environment class as ``"module:QualName"`` (subclasses match too); add entries with
``register_derived``. Setting a derived attribute directly is refused.
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from autorl.errors import TaskError

Fixer = Callable[[gym.Env], None]


def _fix_cartpole(env: Any) -> None:
    env.total_mass = env.masspole + env.masscart
    env.polemass_length = env.masspole * env.length
    high = np.array(
        [env.x_threshold * 2, np.inf, env.theta_threshold_radians * 2, np.inf], dtype=np.float32
    )
    env.observation_space = spaces.Box(-high, high, dtype=np.float32)


def _fix_mountain_car(env: Any) -> None:
    env.low = np.array([env.min_position, -env.max_speed], dtype=np.float32)
    env.high = np.array([env.max_position, env.max_speed], dtype=np.float32)
    env.observation_space = spaces.Box(env.low, env.high, dtype=np.float32)


def _fix_continuous_mountain_car(env: Any) -> None:
    env.low_state = np.array([env.min_position, -env.max_speed], dtype=np.float32)
    env.high_state = np.array([env.max_position, env.max_speed], dtype=np.float32)
    env.observation_space = spaces.Box(env.low_state, env.high_state, dtype=np.float32)
    env.action_space = spaces.Box(env.min_action, env.max_action, shape=(1,), dtype=np.float32)


@dataclass(frozen=True)
class Derived:
    """Attributes an env class computes from others, and how to recompute them."""

    names: tuple[str, ...]
    fix: Fixer


DERIVED: dict[str, Derived] = {
    "gymnasium.envs.classic_control.cartpole:CartPoleEnv": Derived(
        ("total_mass", "polemass_length"), _fix_cartpole
    ),
    "gymnasium.envs.classic_control.mountain_car:MountainCarEnv": Derived(
        ("low", "high"), _fix_mountain_car
    ),
    "gymnasium.envs.classic_control.continuous_mountain_car:Continuous_MountainCarEnv": Derived(
        ("low_state", "high_state"), _fix_continuous_mountain_car
    ),
}


def register_derived(class_path: str, names: tuple[str, ...], fix: Fixer) -> None:
    """Declare that ``class_path`` ("module:QualName") derives ``names``; ``fix`` recomputes."""
    DERIVED[class_path] = Derived(tuple(names), fix)


def _derived_for(env: gym.Env) -> Derived | None:
    for cls in type(env).__mro__:
        derived = DERIVED.get(f"{cls.__module__}:{cls.__qualname__}")
        if derived is not None:
            return derived
    return None


_NOT_PHYSICS = ("np_random", "screen", "render", "metadata", "spec")


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def physics_attrs(env: gym.Env) -> list[str]:
    """Public numeric attributes of the unwrapped env (instance and class): override candidates."""
    derived = _derived_for(env)
    skip = set(derived.names) if derived is not None else set()
    names = []
    for name in dir(env):
        if name.startswith("_") or name.startswith(_NOT_PHYSICS) or name in skip:
            continue
        try:
            value = getattr(env, name)
        except Exception:  # properties may raise before reset
            continue
        if _is_number(value):
            names.append(name)
    return sorted(names)


def apply_env_attrs(env: gym.Env, attrs: Mapping[str, Any], env_id: str) -> None:
    """Set ``attrs`` on ``env.unwrapped`` (each must exist), then fix derived quantities."""
    if not attrs:
        return
    target = env.unwrapped
    cls_name = type(target).__name__
    derived = _derived_for(target)
    for name, value in attrs.items():
        if derived is not None and name in derived.names:
            raise TaskError(
                f"env_attrs: {env_id} ({cls_name}).{name} is computed from other attributes "
                f"and is recomputed after overrides; set its inputs instead (one of "
                f"{', '.join(physics_attrs(target))})."
            )
        if not hasattr(target, name):
            known = physics_attrs(target)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise TaskError(
                f"env_attrs: {env_id} ({cls_name}) has no attribute '{name}'.{hint} "
                f"Numeric attributes it has: {', '.join(known) or 'none'}. Constructor "
                "arguments go in env_kwargs instead."
            )
        current = getattr(target, name)
        if _is_number(current) and not _is_number(value):
            raise TaskError(
                f"env_attrs: {env_id} ({cls_name}).{name} is a number ({current!r}); "
                f"got {value!r}. Give a number."
            )
        setattr(target, name, value)
    if derived is not None:
        derived.fix(target)
