"""Semantic parameter values -> SB3 keyword arguments and env settings (JSON data only).

The output follows docs/configurations.md; ``autorl.training.sb3_kwargs.materialize`` turns it
into SB3 objects. Names not listed here are SB3 keyword arguments passed through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autorl.spaces.catalog import (
    ENV_SETTINGS,
    NORMALIZE_MODES,
    ON_POLICY,
    POLICY_KWARGS,
    SEMANTIC,
)
from autorl.spaces.conv import extractor_kwargs


def _schedule(value: float, schedule: str | None, final_fraction: float | None) -> Any:
    if schedule == "linear":
        fraction = 0.0 if final_fraction is None else final_fraction
        return {"schedule": "linear", "initial": value, "final": value * fraction}
    return value


def _complement(x: float) -> float:
    """``1 - x`` without float noise such as 0.9899999999999999."""
    return round(1.0 - x, 12)


def _policy_kwargs(algo: str, values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = dict(values.get("policy_kwargs") or {})
    for name in sorted(POLICY_KWARGS[algo]):
        if name in values:
            out[name] = values[name]
    if "activation" in values:
        out["activation_fn"] = values["activation"]
    if "cnn" in values:
        out["cnn"] = extractor_kwargs(values["cnn"], values["cnn_features"])
    if "net_depth" in values:
        layers = layer_widths(values, int(values["net_depth"]))
        if algo in ON_POLICY and values.get("shared_trunk"):
            out["shared_trunk"] = layers
            out["net_arch"] = [int(values["net_width"])] * int(values.get("head_depth", 0))
        elif "critic_depth" in values:  # the critic apart: a size search charges the actor
            critic = [int(values["critic_width"])] * int(values["critic_depth"])
            out["net_arch"] = {"pi": layers, "vf" if algo in ON_POLICY else "qf": critic}
        else:
            out["net_arch"] = layers
    return out


def layer_widths(values: Mapping[str, Any], depth: int) -> list[int]:
    """The hidden widths of a ``depth``-layer network: layer 1 ``net_width``, layer k
    ``net_width_k`` where given (``catalog.LAYER_WIDTHS``), else ``net_width``."""
    width = int(values["net_width"])
    return [
        int(values.get(f"net_width_{k}", width)) if k > 1 else width for k in range(1, depth + 1)
    ]


def actor_widths(policy_kwargs: Mapping[str, Any] | None) -> tuple[int, ...] | None:
    """The hidden widths between observation and action of a configuration's policy (a
    shared trunk, then the actor's head), as ``_policy_kwargs`` writes them; ``None`` where
    SB3's default network is used (no ``net_arch``)."""
    data = dict(policy_kwargs or {})
    arch = data.get("net_arch")
    if arch is None and "shared_trunk" not in data:
        return None
    head = arch.get("pi", []) if isinstance(arch, Mapping) else list(arch or [])
    return tuple(int(w) for w in [*data.get("shared_trunk", []), *head])


def _ent_coef(values: Mapping[str, Any], kwargs: dict[str, Any]) -> None:
    mode = values.get("ent_coef_mode")
    if mode == "fixed":
        kwargs["ent_coef"] = values["ent_coef_value"]
    elif mode == "auto":
        init = values.get("ent_coef_init")
        kwargs["ent_coef"] = "auto" if init is None else f"auto_{float(init)!r}"
        if "target_entropy_per_dim" in values:
            kwargs["target_entropy"] = {"per_action_dim": values["target_entropy_per_dim"]}


def to_sb3(algo: str, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(sb3_kwargs, env_settings)`` for the active parameter ``values`` of one configuration."""
    kwargs: dict[str, Any] = {}
    env: dict[str, Any] = {}
    policy_names = POLICY_KWARGS[algo]
    for name, value in values.items():
        if name == "normalize":
            env["normalize_obs"], env["normalize_reward"] = NORMALIZE_MODES[value]
        elif name in ENV_SETTINGS:
            env[name] = value
        elif name not in SEMANTIC and name not in policy_names:
            kwargs[name] = value
    if "one_minus_gamma" in values:
        kwargs["gamma"] = _complement(values["one_minus_gamma"])
    if "one_minus_gae_lambda" in values:
        kwargs["gae_lambda"] = _complement(values["one_minus_gae_lambda"])
    if "learning_rate" in kwargs:
        kwargs["learning_rate"] = _schedule(
            kwargs["learning_rate"], values.get("lr_schedule"), values.get("lr_final_fraction")
        )
    if "clip_range" in kwargs:
        kwargs["clip_range"] = _schedule(kwargs["clip_range"], values.get("clip_schedule"), None)
    noise = values.get("noise_type")
    if noise is not None and noise != "none":
        kwargs["action_noise"] = {"type": noise, "sigma": float(values["noise_std"])}
    _ent_coef(values, kwargs)
    policy_kwargs = _policy_kwargs(algo, values)
    if policy_kwargs:
        kwargs["policy_kwargs"] = policy_kwargs
    return kwargs, env
