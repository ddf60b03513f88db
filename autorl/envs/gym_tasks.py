"""Environments from a ``TaskSpec`` with Gymnasium alone: registration, construction,
the algorithm/action-space check and probing. No torch, no SB3: the API process uses this.
"""

from __future__ import annotations

import copy
import difflib
import importlib
import logging
import re
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from autorl.envs.env_attrs import apply_env_attrs
from autorl.envs.images import as_image_task_env, is_image
from autorl.errors import IncompatibleAlgorithm, TaskError
from autorl.spaces.catalog import ACTION_SPACE_KINDS, SUPPORTED_KINDS
from autorl.types import TaskSpec

logger = logging.getLogger(__name__)

# Which action spaces each algorithm can act in: the one table, in autorl.spaces.catalog.
ACTION_KINDS = ACTION_SPACE_KINDS
ALGO_ACTION_KINDS = SUPPORTED_KINDS

_KIND_NAMES = {
    "discrete": "Discrete",
    "box": "Box",
    "multi_discrete": "MultiDiscrete",
    "multi_binary": "MultiBinary",
}


def _load_entry_point(entry_point: str) -> Any:
    module_name, sep, attr = entry_point.partition(":")
    if not sep or not module_name or not attr:
        raise TaskError(
            f"entry point '{entry_point}' is malformed; write it as 'package.module:ClassName'"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise TaskError(
            f"cannot import module '{module_name}' of entry point '{entry_point}': {exc}. "
            "Install the package or put its folder on PYTHONPATH."
        ) from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise TaskError(
            f"module '{module_name}' has no attribute '{attr}' (entry point '{entry_point}')"
        ) from None


def register_task(task: TaskSpec) -> None:
    """Register ``task.env_id`` for ``task.entry_point`` in this process (idempotent)."""
    if not task.entry_point:
        return
    existing = gym.registry.get(task.env_id)
    if existing is not None:
        if existing.entry_point == task.entry_point:
            return
        raise TaskError(
            f"environment id '{task.env_id}' is already registered for "
            f"{existing.entry_point!r}, not {task.entry_point!r}; choose another env id"
        )
    _load_entry_point(task.entry_point)  # fail here, with a clear message, not inside make
    try:
        gym.register(id=task.env_id, entry_point=task.entry_point)
    except gym.error.Error as exc:
        raise TaskError(f"cannot register environment id '{task.env_id}': {exc}") from exc
    logger.debug("registered %s -> %s", task.env_id, task.entry_point)


# Packages whose env ids exist once they are imported (or a function of theirs is called):
# (the ids, module, registering function or None, the autorl extra that installs it).
REGISTRARS: tuple[tuple[re.Pattern[str], str, str | None, str], ...] = (
    (re.compile(r"MinAtar/.+"), "minatar.gym", "register_envs", "games"),
    (re.compile(r"ALE/.+"), "ale_py", None, "games"),  # the ROMs ship in the wheel
    (
        re.compile(
            r"(highway|highway-fast|merge|roundabout|intersection|parking|racetrack|exit"
            r"|two-way|lane-keeping|u-turn)(-[A-Za-z-]+)?-v\d+"
        ),
        "highway_env",
        None,
        "driving",
    ),
)


# Gymnasium's own optional dependencies (named in its DependencyNotInstalled message) and the
# autorl extra that installs each.
DEPENDENCY_EXTRAS = {"Box2D": "box2d", "MuJoCo": "mujoco", "pygame": "box2d"}


def register_namespace(env_id: str) -> None:
    """Register the ids of the package ``env_id`` belongs to (``MinAtar/Breakout-v1``,
    ``highway-fast-v0``) if they are not registered yet; TaskError if it is missing."""
    if env_id in gym.registry:
        return
    for pattern, module_name, register, extra in REGISTRARS:
        if not pattern.fullmatch(env_id):
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise TaskError(
                f"'{env_id}' is an environment of {module_name.split('.')[0]}, which cannot "
                f"be imported ({exc}); install it with pip install 'autorl[{extra}]'"
            ) from exc
        if register is not None:
            getattr(module, register)()
        return


def _unknown_id(env_id: str) -> TaskError:
    close = difflib.get_close_matches(env_id, list(gym.registry.keys()), n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return TaskError(
        f"unknown environment id '{env_id}'.{hint} Give a registered Gymnasium id such as "
        "'CartPole-v1'; for your own environment also give its class with --entry-point "
        "package.module:ClassName (TaskSpec.entry_point)."
    )


def make_env(task: TaskSpec) -> gym.Env:
    """One bare environment: registered, constructed with env_kwargs, env_attrs applied, an
    image observation as uint8 (C, H, W) (``autorl.envs.images``)."""
    register_task(task)
    register_namespace(task.env_id)
    if ":" not in task.env_id and task.env_id not in gym.registry:
        raise _unknown_id(task.env_id)
    try:
        env = gym.make(task.env_id, **dict(task.env_kwargs))
    except gym.error.NameNotFound:
        raise _unknown_id(task.env_id) from None
    except gym.error.DependencyNotInstalled as exc:
        extra = next((e for key, e in DEPENDENCY_EXTRAS.items() if key in str(exc)), None)
        hint = f"install it with pip install 'autorl[{extra}]'" if extra else str(exc)
        raise TaskError(
            f"environment '{task.env_id}' needs a package that is not installed ({exc}); {hint}"
        ) from exc
    except Exception as exc:
        raise TaskError(
            f"could not build environment '{task.env_id}' with env_kwargs "
            f"{dict(task.env_kwargs)}: {type(exc).__name__}: {exc}"
        ) from exc
    try:
        apply_env_attrs(env, task.env_attrs, task.env_id)
    except BaseException:
        env.close()
        raise
    return as_image_task_env(env)


def action_space_kind(space: spaces.Space) -> str:
    """``"discrete"``, ``"box"``, ``"multi_discrete"`` or ``"multi_binary"``."""
    if isinstance(space, spaces.Discrete):
        return "discrete"
    if isinstance(space, spaces.Box):
        return "box"
    if isinstance(space, spaces.MultiDiscrete):
        return "multi_discrete"
    if isinstance(space, spaces.MultiBinary):
        return "multi_binary"
    raise IncompatibleAlgorithm(
        f"no Stable-Baselines3 algorithm can act in a {space} action space; "
        "it needs Discrete, Box, MultiDiscrete or MultiBinary"
    )


def check_space_compatible(algo: str, action_space: spaces.Space, env_id: str) -> None:
    """Raise ``IncompatibleAlgorithm`` unless ``algo`` can act in ``action_space``."""
    accepted = ALGO_ACTION_KINDS.get(algo)
    if accepted is None:
        raise IncompatibleAlgorithm(
            f"unknown algorithm '{algo}'; choose one of {', '.join(ALGO_ACTION_KINDS)}"
        )
    kind = action_space_kind(action_space)
    if kind not in accepted:
        others = [name for name, kinds in ALGO_ACTION_KINDS.items() if kind in kinds]
        use = ", ".join(others[:-1]) + f" or {others[-1]}" if len(others) > 1 else others[0]
        needs = " or ".join(_KIND_NAMES[k] for k in ACTION_KINDS if k in accepted)
        raise IncompatibleAlgorithm(
            f"{algo} cannot act in {env_id}: its action space is {action_space}; "
            f"{algo.upper()} needs a {needs} action space. Use {use}."
        )
    if kind == "box":
        bounds = np.concatenate([np.ravel(action_space.low), np.ravel(action_space.high)])
        if not np.isfinite(bounds).all():
            raise IncompatibleAlgorithm(
                f"{algo} cannot act in {env_id}: its Box action space {action_space} has "
                "infinite bounds; Stable-Baselines3 needs finite action bounds"
            )


def check_compatible(algo: str, task: TaskSpec, env: gym.Env | None = None) -> None:
    """Raise ``IncompatibleAlgorithm`` (with what to use instead) if ``algo`` can't act in it
    (in ``env`` when given, else in a new one)."""
    if env is not None:
        check_space_compatible(algo, env.action_space, task.env_id)
        return
    env = make_env(task)
    try:
        check_space_compatible(algo, env.action_space, task.env_id)
    finally:
        env.close()


def _space_info(space: spaces.Space) -> dict[str, Any]:
    info: dict[str, Any] = {"repr": str(space), "type": type(space).__name__}
    if isinstance(space, spaces.Discrete):
        info["n"] = int(space.n)
    elif isinstance(space, spaces.Box):
        info["shape"] = list(space.shape)
        info["image"] = is_image(space)
        info["low"] = np.asarray(space.low, dtype=float).ravel().tolist()[:16]
        info["high"] = np.asarray(space.high, dtype=float).ravel().tolist()[:16]
    elif isinstance(space, spaces.MultiDiscrete):
        info["nvec"] = np.asarray(space.nvec).ravel().tolist()
    elif isinstance(space, spaces.MultiBinary):
        info["n"] = np.asarray(space.n).ravel().tolist()
    elif space.shape is not None:
        info["shape"] = list(space.shape)
    return info


_PROBED: dict[str, dict[str, Any]] = {}


def probe_task(task: TaskSpec) -> dict[str, Any]:
    """Spaces, registered reward threshold and episode limit of a task (for messages/reports);
    the env is built once per task and process (``TaskSpec.key``), the answer copied."""
    if task.key() not in _PROBED:
        _PROBED[task.key()] = _probe(task)
    return copy.deepcopy(_PROBED[task.key()])


def _probe(task: TaskSpec) -> dict[str, Any]:
    env = make_env(task)
    try:
        spec = env.spec
        action = _space_info(env.action_space)
        try:
            action["kind"] = action_space_kind(env.action_space)
        except IncompatibleAlgorithm:
            action["kind"] = None
        return {
            "env_id": task.env_id,
            "env_class": type(env.unwrapped).__name__,
            "observation_space": _space_info(env.observation_space),
            "action_space": action,
            "reward_threshold": spec.reward_threshold if spec is not None else None,
            "max_episode_steps": spec.max_episode_steps if spec is not None else None,
        }
    finally:
        env.close()
