"""Setting physics attributes on an environment after construction (``TaskSpec.env_attrs``).

Some environments compute derived quantities once in ``__init__`` (CartPole's ``total_mass``
and ``polemass_length``); overriding an input without recomputing them gives physics that
match neither the old nor the new values. ``DERIVED`` recomputes them, keyed by the
environment class as ``"module:QualName"`` (subclasses match too); add entries with
``register_derived``. Setting a derived attribute directly is refused.

A name may also be a path into nested objects and arrays, parsed and never evaluated:
``model.opt.gravity`` or ``model.body_mass[1]`` (a MuJoCo env's compiled model, whose
constants ``mj_setConst`` then recomputes). Arrays are written in place with a value of their
shape; a field that does not exist is refused with the fields that do.
"""

from __future__ import annotations

import difflib
import numbers
import re
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


def _fix_mujoco(env: Any) -> None:
    """Recompute the compiled model's constants (subtree masses, inverse inertias at qpos0)
    from the fields just set, as MuJoCo's compiler would have."""
    import mujoco

    mujoco.mj_setConst(env.model, env.data)


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
    "gymnasium.envs.mujoco.mujoco_env:MujocoEnv": Derived((), _fix_mujoco),
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
    """Set ``attrs`` on ``env.unwrapped`` (each must exist), then fix derived quantities.

    A name is an attribute (``length``) or a path into nested objects and arrays
    (``model.opt.gravity``, ``model.body_mass[1]``: MuJoCo's compiled model), parsed, never
    evaluated: an array is written in place with a value of its shape."""
    if not attrs:
        return
    target = env.unwrapped
    cls_name = type(target).__name__
    derived = _derived_for(target)
    for name, value in attrs.items():
        if not isinstance(name, str) or not _PATH.fullmatch(name):
            raise TaskError(
                f"env_attrs: {name!r} is not an attribute name or a path such as "
                "model.opt.gravity or model.body_mass[1] (names and non-negative indices)"
            )
        if derived is not None and _segments(name)[0][0] in derived.names:
            raise TaskError(
                f"env_attrs: {env_id} ({cls_name}).{name} is computed from other attributes "
                f"and is recomputed after overrides; set its inputs instead (one of "
                f"{', '.join(physics_attrs(target))})."
            )
        if name not in dir(target) or "." in name or "[" in name:
            if _segments(name)[0][0] in dir(target):
                set_path(target, name, value, f"{env_id} ({cls_name})")
                continue
            name = _segments(name)[0][0]
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
        if isinstance(current, np.ndarray):
            set_path(target, name, value, f"{env_id} ({cls_name})")
        else:
            setattr(target, name, value)
    if derived is not None:
        derived.fix(target)


_SEGMENT = r"[A-Za-z][A-Za-z0-9_]*(?:\[\d+\])*"
_PATH = re.compile(rf"{_SEGMENT}(?:\.{_SEGMENT})*")


def _segments(path: str) -> list[tuple[str, tuple[int, ...]]]:
    """``model.body_mass[1]`` -> [("model", ()), ("body_mass", (1,))]."""
    out = []
    for part in path.split("."):
        name, *indices = part.replace("]", "").split("[")
        out.append((name, tuple(int(i) for i in indices)))
    return out


def _fields(obj: Any) -> list[str]:
    """Public non-callable attributes of ``obj`` (what a path may name next)."""
    names = []
    for name in dir(obj):
        if name.startswith("_"):
            continue
        try:
            value = getattr(obj, name)
        except Exception:
            continue
        if not callable(value):
            names.append(name)
    return names


def _unknown(where: str, path: str, name: str, obj: Any) -> TaskError:
    known = _fields(obj)
    close = difflib.get_close_matches(name, known, n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    shown = ", ".join(known[:20]) + (f" ... ({len(known)} in all)" if len(known) > 20 else "")
    return TaskError(
        f"env_attrs: {where} {path}: {type(obj).__name__} has no field '{name}'.{hint} "
        f"Fields it has: {shown or 'none'}"
    )


def set_path(target: Any, path: str, value: Any, where: str) -> None:
    """Set the number or numeric array ``path`` names below ``target`` to ``value``."""
    obj: Any = target
    segments = _segments(path)
    for k, (name, index) in enumerate(segments):
        if name not in dir(obj):
            raise _unknown(where, path, name, obj)
        child = getattr(obj, name)
        last = k == len(segments) - 1
        if not index and not last:
            obj = child
            continue
        if index and not isinstance(child, np.ndarray):
            raise TaskError(f"env_attrs: {where} {path}: '{name}' is not an array to index")
        if index and (
            len(index) > child.ndim or any(i >= n for i, n in zip(index, child.shape, strict=False))
        ):
            raise TaskError(
                f"env_attrs: {where} {path}: index {list(index)} is outside '{name}', of "
                f"shape {list(child.shape)}"
            )
        if not last:
            raise TaskError(f"env_attrs: {where} {path}: an indexed array has no fields")
        if isinstance(child, np.ndarray):
            _write(child, index, value, f"{where} {path}")
        elif _is_number(child) and _is_number(value):
            setattr(obj, name, value)
        else:
            raise TaskError(
                f"env_attrs: {where} {path} is a {type(child).__name__}, not a number or a "
                f"numeric array; got {value!r}"
            )


def _write(array: np.ndarray, index: tuple[int, ...], value: Any, where: str) -> None:
    """``array[index] = value`` in place (MuJoCo's arrays are views of the compiled model)."""
    shape = array[index].shape if index else array.shape
    try:
        given = np.asarray(value, dtype=float)
        ok = not isinstance(value, bool) and np.isfinite(given).all()
    except (TypeError, ValueError):
        ok = False
    if not ok or given.shape != shape:
        want = "a finite number" if shape == () else f"a list of shape {list(shape)} of numbers"
        raise TaskError(f"env_attrs: {where}: give {want}, got {value!r}")
    array[index] = given
