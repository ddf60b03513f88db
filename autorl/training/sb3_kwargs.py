"""JSON ``sb3_kwargs`` (docs/configurations.md) -> the objects SB3 constructors take.

Schedules become SB3's picklable ``LinearSchedule``/``ConstantSchedule`` (never lambdas, so a
saved model loads anywhere); activation names become ``torch.nn`` classes; action noise is sized
to the action space; ``policy_kwargs.shared_trunk`` becomes a shared features extractor,
``policy_kwargs.cnn`` a ``ConvExtractor``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.noise import (
    ActionNoise,
    NormalActionNoise,
    OrnsteinUhlenbeckActionNoise,
)
from stable_baselines3.common.utils import ConstantSchedule, LinearSchedule
from torch import nn

from autorl.training.policies import ConvExtractor, SharedTrunkExtractor
from autorl.types import TrainConfig

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}
NOISES: dict[str, type[ActionNoise]] = {
    "normal": NormalActionNoise,
    "ornstein_uhlenbeck": OrnsteinUhlenbeckActionNoise,
}
SCHEDULED = ("learning_rate", "clip_range", "clip_range_vf")
ON_POLICY = ("ppo", "a2c")


def schedule(value: Any, key: str = "schedule") -> Any:
    """A number stays a float; ``{"schedule": ...}`` becomes a picklable schedule object.

    ``linear`` goes from ``initial`` (progress_remaining 1, the start) to ``final`` (0, the end).
    """
    if not isinstance(value, Mapping):
        return value if value is None or callable(value) else float(value)
    kind = value.get("schedule")
    if kind == "linear":
        return LinearSchedule(float(value["initial"]), float(value.get("final", 0.0)), 1.0)
    if kind == "constant":
        return ConstantSchedule(float(value["value"]))
    raise ValueError(f"{key}: unknown schedule {value!r} (use linear or constant)")


def activation(name: Any) -> type[nn.Module]:
    """The ``torch.nn`` class for an activation name (a class passes through)."""
    if isinstance(name, type):
        return name
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"policy_kwargs.activation_fn: unknown activation {name!r} "
            f"(use {', '.join(ACTIVATIONS)})"
        ) from None


def _action_dim(action_space: gym.spaces.Space, key: str) -> int:
    if not isinstance(action_space, gym.spaces.Box):
        raise ValueError(f"{key} needs a Box action space, got {action_space}")
    return int(np.prod(action_space.shape))


def action_noise(spec: Mapping[str, Any], action_space: gym.spaces.Space) -> ActionNoise:
    """Noise with ``sigma`` relative to half the action range.

    SAC and TD3 add the noise to the action rescaled to [-1, 1] (half range = 1), so the
    relative ``sigma`` is the noise's own scale.
    """
    n = _action_dim(action_space, "action_noise")
    kind = spec.get("type")
    if kind not in NOISES:
        raise ValueError(f"action_noise: unknown type {kind!r} (use {', '.join(NOISES)})")
    sigma = float(spec["sigma"]) * np.ones(n, dtype=np.float32)
    return NOISES[kind](mean=np.zeros(n, dtype=np.float32), sigma=sigma)


def _policy_kwargs(algo: str, data: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(data)
    if "activation_fn" in out:
        out["activation_fn"] = activation(out["activation_fn"])
    trunk = out.pop("shared_trunk", None)
    cnn = out.pop("cnn", None)
    if cnn is not None:
        if trunk is not None:
            raise ValueError(
                "policy_kwargs.cnn and shared_trunk both set the features extractor; a CNN "
                "is shared by actor and critic already: drop shared_trunk"
            )
        out["features_extractor_class"] = ConvExtractor
        out["features_extractor_kwargs"] = {
            "layers": [[int(v) for v in layer] for layer in cnn["layers"]],
            "features_dim": int(cnn.get("features_dim", 512)),
        }
    if trunk is not None:
        if algo not in ON_POLICY:
            raise ValueError(f"policy_kwargs.shared_trunk is for on-policy algorithms, not {algo}")
        out["features_extractor_class"] = SharedTrunkExtractor
        out["features_extractor_kwargs"] = {
            "net_arch": [int(w) for w in trunk],
            "activation_fn": out.get("activation_fn", nn.Tanh),
        }
        out["share_features_extractor"] = True
        out.setdefault("net_arch", [])
    return out


def materialize(config: TrainConfig, action_space: gym.spaces.Space) -> dict[str, Any]:
    """Keyword arguments for ``ALGO(config.policy, env, **kwargs)``; ``config`` is not changed."""
    kwargs = copy.deepcopy(dict(config.sb3_kwargs))
    for key in SCHEDULED:
        if key in kwargs:
            kwargs[key] = schedule(kwargs[key], key)
    if "policy_kwargs" in kwargs:
        kwargs["policy_kwargs"] = _policy_kwargs(config.algo, kwargs["policy_kwargs"])
    if isinstance(kwargs.get("action_noise"), Mapping):
        kwargs["action_noise"] = action_noise(kwargs["action_noise"], action_space)
    target = kwargs.get("target_entropy")
    if isinstance(target, Mapping):
        per_dim = float(target["per_action_dim"])
        kwargs["target_entropy"] = per_dim * _action_dim(action_space, "target_entropy")
    if isinstance(kwargs.get("train_freq"), list):
        n, unit = kwargs["train_freq"]
        kwargs["train_freq"] = (int(n), str(unit))
    return kwargs
