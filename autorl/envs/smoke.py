"""A smoke test of an environment: build, reset and step it before any trial is spent on it."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from autorl.envs.gym_tasks import make_env
from autorl.errors import TaskError
from autorl.types import TaskSpec

SMOKE_STEPS = 32


def _require_finite(task: TaskSpec, value: object, what: str, step: int) -> None:
    try:
        finite = bool(np.all(np.isfinite(np.asarray(value, dtype=float))))
    except (TypeError, ValueError):
        return  # dict/tuple observations: the trainer's guard checks them leaf by leaf
    if not finite:
        raise TaskError(
            f"{task.env_id} returned a non-finite {what} at step {step} of a random episode; "
            "fix the environment (NaN/inf cannot be learned from) before tuning it"
        )


def smoke_test(task: TaskSpec, env: gym.Env | None = None) -> None:
    """Build (or take), reset and step the env with random actions: an env that raises fails
    here. A given ``env`` is left open for its owner to close."""
    owned = env is None
    env = make_env(task) if env is None else env
    try:
        env.action_space.seed(0)
        obs, _ = env.reset(seed=0)
        _require_finite(task, obs, "observation", 0)
        for step in range(1, SMOKE_STEPS + 1):
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            _require_finite(task, obs, "observation", step)
            _require_finite(task, reward, "reward", step)
            if terminated or truncated:
                env.reset()
    except TaskError:
        raise
    except Exception as exc:
        raise TaskError(
            f"{task.env_id} raised during a smoke test (reset and {SMOKE_STEPS} random steps): "
            f"{type(exc).__name__}: {exc}. Fix the environment before tuning it."
        ) from exc
    finally:
        if owned:
            env.close()
