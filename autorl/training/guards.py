"""Failure detection: wrappers and checks that turn trouble into ``TrialFailure`` reasons.

- ``EnvGuard`` (inside each env): an exception raised by the environment's ``reset``/``step``,
  or a NaN/inf observation or reward, becomes ``ENV_ERROR``. Our own code never runs inside it,
  so an env fault cannot be mistaken for a bug of ours.
- ``TrialGuard`` (around a VecEnv): NaN/inf actions become ``DIVERGED``; a wall-clock deadline,
  checked every ``check_every`` steps, becomes ``TIMEOUT``.
- ``check_parameters`` (called at each evaluation): NaN/inf network weights become ``DIVERGED``.
- ``classify`` maps what escapes SB3 (OOM, NaN distributions) to a ``TrialFailure``.
"""

from __future__ import annotations

import math
import re
import time
import traceback
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn

from autorl.errors import TrialFailure
from autorl.stop import raise_if_stopped
from autorl.types import FailureReason

_INVALID_DISTRIBUTION = re.compile(
    r"Expected parameter (?P<param>\w+) .*?constraint (?P<constraint>.*?), "
    r"but found invalid values",
    re.DOTALL,
)
DIVERGED_HINT = "lower learning_rate or max_grad_norm, or turn on normalize_reward"


def _all_finite(value: Any) -> bool:
    """Whether every float in an observation (array, number, dict or tuple of them) is finite."""
    if isinstance(value, np.ndarray):
        return value.dtype.kind not in "fc" or bool(np.isfinite(value).all())
    if isinstance(value, float | np.floating):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_all_finite(v) for v in value.values())
    if isinstance(value, tuple):
        return all(_all_finite(v) for v in value)
    return True


def _where(exc: BaseException, frames: int = 3) -> str:
    """The innermost frames of a traceback, innermost first: ``file:line in function``."""
    stack = traceback.extract_tb(exc.__traceback__)[-frames:]
    if not stack:
        return "unknown location"
    return " <- ".join(f"{f.filename}:{f.lineno} in {f.name}" for f in reversed(stack))


class EnvGuard(gym.Wrapper):
    """Reports the wrapped environment's exceptions and NaN/inf outputs as ``ENV_ERROR``."""

    def __init__(self, env: gym.Env, env_id: str) -> None:
        super().__init__(env)
        self._env_id = env_id
        self._steps = 0

    def _fault(self, call: str, exc: Exception) -> TrialFailure:
        return TrialFailure(
            FailureReason.ENV_ERROR,
            f"environment {self._env_id} raised in {call} (after {self._steps} steps of this "
            f"env): {type(exc).__name__}: {str(exc)[:500]} (at {_where(exc)})",
        )

    def _check(self, call: str, obs: Any, reward: Any = 0.0) -> None:
        if not _all_finite(obs):
            raise TrialFailure(
                FailureReason.ENV_ERROR,
                f"environment {self._env_id} returned NaN/inf in its observation from {call} "
                f"(after {self._steps} steps of this env); fix the environment",
            )
        if not math.isfinite(float(reward)):
            raise TrialFailure(
                FailureReason.ENV_ERROR,
                f"environment {self._env_id} returned a NaN/inf reward ({reward}) from {call} "
                f"(after {self._steps} steps of this env); fix the environment",
            )

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        try:
            obs, info = self.env.reset(**kwargs)
        except MemoryError:
            raise
        except Exception as exc:
            raise self._fault("reset", exc) from exc
        self._check("reset", obs)
        return obs, info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        try:
            obs, reward, terminated, truncated, info = self.env.step(action)
        except MemoryError:
            raise
        except Exception as exc:
            raise self._fault("step", exc) from exc
        self._steps += 1
        self._check("step", obs, reward)
        return obs, reward, terminated, truncated, info


class Deadline:
    """A wall-clock limit on a monotonic clock; ``None`` means no limit."""

    def __init__(self, limit_s: float | None) -> None:
        self.limit_s = limit_s
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def expired(self) -> bool:
        return self.limit_s is not None and self.elapsed() > self.limit_s


class TrialGuard(VecEnvWrapper):
    """Stops a run on NaN/inf actions (``DIVERGED``) or past its deadline (``TIMEOUT``)."""

    def __init__(
        self, venv: VecEnv, deadline: Deadline, label: str = "training", check_every: int = 64
    ) -> None:
        super().__init__(venv)
        self.deadline = deadline
        self.label = label
        self.check_every = max(1, check_every)
        self._calls = 0

    def step_async(self, actions: np.ndarray) -> None:
        if actions.dtype.kind in "fc" and not np.isfinite(actions).all():
            raise TrialFailure(
                FailureReason.DIVERGED,
                f"the policy produced NaN/inf actions during {self.label} "
                f"(after {self._calls * self.num_envs} env steps); {DIVERGED_HINT}",
            )
        raise_if_stopped()  # a SIGTERM whose exception was swallowed is raised here again
        if self._calls % self.check_every == 0 and self.deadline.expired():
            raise TrialFailure(
                FailureReason.TIMEOUT,
                f"ran past its wall-clock limit of {self.deadline.limit_s:g} s during "
                f"{self.label} ({self.deadline.elapsed():.1f} s elapsed)",
            )
        self._calls += 1
        self.venv.step_async(actions)

    def step_wait(self) -> VecEnvStepReturn:
        return self.venv.step_wait()

    def reset(self) -> VecEnvObs:
        return self.venv.reset()


def _tensors(model: BaseAlgorithm) -> list[tuple[str, torch.Tensor]]:
    named = list(model.policy.named_parameters())
    log_ent_coef = getattr(model, "log_ent_coef", None)  # SAC's entropy temperature
    if isinstance(log_ent_coef, torch.Tensor):
        named.append(("log_ent_coef", log_ent_coef))
    return named


def nonfinite_parameter(model: BaseAlgorithm) -> str | None:
    """The name of the first NaN/inf parameter of the model, or ``None`` if all are finite."""
    with torch.no_grad():
        for name, tensor in _tensors(model):
            if not bool(torch.isfinite(tensor).all()):
                return name
    return None


def check_parameters(model: BaseAlgorithm) -> None:
    """Raise ``DIVERGED`` if any network parameter is NaN/inf."""
    name = nonfinite_parameter(model)
    if name is not None:
        raise TrialFailure(
            FailureReason.DIVERGED,
            f"parameter {name} became NaN/inf after {model.num_timesteps} env steps; "
            f"{DIVERGED_HINT}",
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:200] if text else ''}"


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    oom_type = getattr(torch, "OutOfMemoryError", None) or getattr(
        torch.cuda, "OutOfMemoryError", None
    )
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def _invalid_distribution(exc: Exception) -> str | None:
    """What torch.distributions rejected (NaN/inf logits or means, a zero scale), if that's it."""
    match = _INVALID_DISTRIBUTION.search(str(exc)) if isinstance(exc, ValueError) else None
    if match is None:
        return None
    return f"the action distribution got an invalid {match['param']} ({match['constraint']})"


def classify(exc: BaseException, model: BaseAlgorithm | None) -> TrialFailure | None:
    """The ``TrialFailure`` an exception escaping training stands for; ``None`` for a bug."""
    if isinstance(exc, TrialFailure):
        return exc
    if _is_oom(exc):
        return TrialFailure(
            FailureReason.OOM,
            f"out of memory ({_first_line(exc)}); use fewer envs, a smaller batch, buffer "
            "or network, or a device with more memory",
        )
    if not isinstance(exc, Exception):
        return None
    distribution = _invalid_distribution(exc)
    name = nonfinite_parameter(model) if model is not None else None
    if name is not None and model is not None:
        return TrialFailure(
            FailureReason.DIVERGED,
            f"parameter {name} became NaN/inf after {model.num_timesteps} env steps "
            f"({distribution or _first_line(exc)}); {DIVERGED_HINT}",
        )
    if distribution is not None:
        return TrialFailure(
            FailureReason.DIVERGED, f"the network diverged: {distribution}; {DIVERGED_HINT}"
        )
    return None
