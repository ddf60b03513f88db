"""Render a BestConfig as JSON, YAML, an RL Zoo hyperparameter file or Python kwargs.

An export trains what was tuned or is refused (``ExportError``, saying why and which format
can): RL Zoo's file has no shared actor/critic trunk, no linear schedule to a non-zero end, and
needs ``target_entropy`` as a number (the action dimension must be known). The Python form
uses autorl's own features extractor for a shared trunk.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from autorl.errors import ExportError
from autorl.study.queries import BestConfig

ACTIVATIONS = {
    "tanh": "nn.Tanh",
    "relu": "nn.ReLU",
    "elu": "nn.ELU",
    "leaky_relu": "nn.LeakyReLU",
    "gelu": "nn.GELU",
    "silu": "nn.SiLU",
}
NOISE_TO_ZOO = {"normal": "normal", "ornstein_uhlenbeck": "ornstein-uhlenbeck"}


def _schedule_value(value: Any, key: str) -> Any:
    """A JSON schedule as RL Zoo writes it (``lin_x``: linear to 0); ExportError otherwise."""
    if not isinstance(value, dict):
        return value
    kind = value.get("schedule")
    if kind == "constant":
        return value["value"]
    initial, final = value["initial"], value.get("final", 0.0)
    if final == 0:
        return f"lin_{initial}"
    raise ExportError(f"{key}: linear schedule {initial} -> {final} (RL Zoo's lin_ ends at 0)")


def _py(value: Any) -> str:
    """A Python expression for a JSON value (dict keys as keyword arguments where possible)."""
    if isinstance(value, dict):
        if all(isinstance(k, str) and k.isidentifier() for k in value):
            return "dict(" + ", ".join(f"{k}={_py(v)}" for k, v in value.items()) + ")"
        return "{" + ", ".join(f"{k!r}: {_py(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    return repr(value)


EXTRACTORS = {"shared_trunk": "SharedTrunkExtractor", "cnn": "ConvExtractor"}  # autorl's


def _policy_kwargs_py(pk: dict[str, Any], trunk_class: str | None) -> str:
    """``dict(...)`` source; a shared trunk as ``trunk_class``, a CNN as autorl's
    ``ConvExtractor`` (ExportError for either if ``trunk_class`` is None: RL Zoo's file)."""
    parts = []
    for key, value in pk.items():
        if key == "activation_fn":
            parts.append(f"activation_fn={ACTIVATIONS.get(value, value)}")
        elif key == "cnn":
            if trunk_class is None:
                raise ExportError(
                    f"policy_kwargs: the searched CNN {value['layers']} needs autorl's "
                    "ConvExtractor, which an RL Zoo file cannot name"
                )
            parts += [
                "features_extractor_class=ConvExtractor",
                f"features_extractor_kwargs={_py(value)}",
            ]
        elif key == "shared_trunk":
            if trunk_class is None:
                raise ExportError(
                    f"policy_kwargs: a shared actor/critic trunk {value} needs autorl's "
                    "features extractor, which an RL Zoo file cannot name"
                )
            activation = ACTIVATIONS.get(pk.get("activation_fn", "tanh"), "nn.Tanh")
            trunk = f"net_arch={_py(value)}, activation_fn={activation}"
            parts += [
                f"features_extractor_class={trunk_class}",
                f"features_extractor_kwargs=dict({trunk})",
                "share_features_extractor=True",
            ]
            if "net_arch" not in pk:
                parts.append("net_arch=[]")
        else:
            parts.append(f"{key}={_py(value)}")
    return "dict(" + ", ".join(parts) + ")"


def _target_entropy(value: Any, action_dims: int | None) -> Any:
    if not isinstance(value, dict):
        return value
    per_dim = float(value["per_action_dim"])
    if action_dims is None:
        raise ExportError(
            f"target_entropy: {per_dim} per action dimension, and the task's action "
            "dimension is not known here"
        )
    return per_dim * action_dims


def to_zoo(best: BestConfig, action_dims: int | None = None) -> str:
    """A hyperparameter file for ``python -m rl_zoo3.train --algo ALGO -conf FILE`` that trains
    what the trial trained (``action_dims``: the product of the action shape, for a
    ``target_entropy`` given per dimension); ExportError when RL Zoo's format cannot say it."""
    try:
        return _zoo(best, action_dims)
    except ExportError as exc:
        raise ExportError(
            f"trial {best.trial} of study {best.study} cannot be written as an RL Zoo file "
            f"without training something else: {exc}. Export it with --format python (autorl's "
            "own classes) or json."
        ) from None


def _zoo(best: BestConfig, action_dims: int | None) -> str:
    cfg = best.config
    env = cfg.get("env", {})
    notes: list[str] = []
    entry: dict[str, Any] = {"n_timesteps": best.timesteps, "policy": cfg["policy"]}
    entry["n_envs"] = env.get("n_envs", 1)
    if env.get("frame_stack", 1) > 1:  # RL Zoo's VecFrameStack joins them as autorl does
        entry["frame_stack"] = env["frame_stack"]
    if env.get("normalize_obs") or env.get("normalize_reward"):
        entry["normalize"] = (
            f"dict(norm_obs={bool(env.get('normalize_obs'))}, "
            f"norm_reward={bool(env.get('normalize_reward'))})"
        )
    for key, value in cfg["sb3_kwargs"].items():
        if key in ("learning_rate", "clip_range"):
            entry[key] = _schedule_value(value, key)
        elif key == "policy_kwargs":
            entry[key] = _policy_kwargs_py(value, trunk_class=None)
        elif key == "target_entropy":
            entry[key] = _target_entropy(value, action_dims)
        elif key == "action_noise":
            entry["noise_type"] = NOISE_TO_ZOO.get(value["type"], value["type"])
            # SB3 adds the noise to actions scaled to [-1, 1], in RL Zoo too: no rescaling.
            entry["noise_std"] = float(value["sigma"])
        else:
            entry[key] = value
    task = best.task
    if task.get("env_kwargs"):
        notes.append(f"pass --env-kwargs {json.dumps(task['env_kwargs'])} to rl_zoo3.train")
    if task.get("env_attrs") or task.get("entry_point"):
        notes.append(
            "env attributes / entry point are autorl task options; rl_zoo3 needs its own env"
        )
    header = [
        f"# autorl study {best.study}, trial {best.trial}: selection score {best.score} "
        f"({best.aggregate} of train seeds {best.train_seeds})",
    ]
    v = best.validation
    if v and v.get("mean") is not None:
        header.append(
            f"# test on unseen seeds {v['train_seeds']}: mean {v['mean']:.2f}, "
            f"per seed {[None if s is None else round(s, 2) for s in v.get('scores', [])]}"
        )
    header += [f"# note: {n}" for n in notes]
    body = yaml.safe_dump({task["env_id"]: entry}, sort_keys=False, default_flow_style=False)
    return "\n".join(header) + "\n" + body


def to_python(best: BestConfig, action_dims: int | None = None) -> str:
    """Constructor kwargs as Python source, ready to paste next to ``ALGO(policy, env, ...)``."""
    cfg = best.config
    lines = [
        f"# autorl study {best.study}, trial {best.trial}: score {best.score}",
        "from torch import nn",
        "from stable_baselines3.common.utils import LinearSchedule  # picklable schedules",
        "",
        "kwargs = dict(",
        f"    policy={cfg['policy']!r},",
    ]
    for key, value in cfg["sb3_kwargs"].items():
        if isinstance(value, dict) and value.get("schedule") == "linear":
            expr = f"LinearSchedule({value['initial']!r}, {value.get('final', 0.0)!r}, 1.0)"
        elif isinstance(value, dict) and value.get("schedule") == "constant":
            expr = repr(value["value"])
        elif key == "policy_kwargs":
            expr = _policy_kwargs_py(value, trunk_class="SharedTrunkExtractor")
            used = [c for k, c in EXTRACTORS.items() if k in value]
            if used:
                lines.insert(3, f"from autorl.training.policies import {', '.join(used)}")
        elif key == "action_noise":
            noise = (
                "NormalActionNoise" if value["type"] == "normal" else "OrnsteinUhlenbeckActionNoise"
            )
            lines.append(
                f"    # action_noise: {noise}(mean=zeros(n_actions), sigma={value['sigma']!r} * "
                "ones(n_actions)) from stable_baselines3.common.noise"
            )
            continue
        elif key == "target_entropy" and isinstance(value, dict) and action_dims is None:
            lines.append(
                f"    # target_entropy: {value['per_action_dim']!r} * n_actions "
                "(the number of action dimensions)"
            )
            continue
        elif key == "target_entropy":
            expr = _py(_target_entropy(value, action_dims))
        else:
            expr = _py(value)
        lines.append(f"    {key}={expr},")
    lines.append(")")
    env = cfg.get("env", {})
    lines.append(f"env_settings = {_py(env)}  # n_envs and VecNormalize")
    return "\n".join(lines)


def render(best: BestConfig, fmt: str, action_dims: int | None = None) -> str:
    """``best`` in format ``fmt`` (json, yaml, zoo, python)."""
    if fmt in ("zoo", "python"):
        return RENDERERS[fmt](best, action_dims)
    return RENDERERS[fmt](best)


RENDERERS: dict[str, Any] = {
    "json": lambda b: json.dumps(b.to_dict(), indent=2, default=str),
    "yaml": lambda b: yaml.safe_dump(b.to_dict(), sort_keys=False),
    "zoo": to_zoo,
    "python": to_python,
}
