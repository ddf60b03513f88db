"""Render a BestConfig as JSON, YAML, an RL Zoo hyperparameter file or Python kwargs."""

from __future__ import annotations

import json
from typing import Any

import yaml

from autorl.search.queries import BestConfig

ACTIVATIONS = {
    "tanh": "nn.Tanh",
    "relu": "nn.ReLU",
    "elu": "nn.ELU",
    "leaky_relu": "nn.LeakyReLU",
    "gelu": "nn.GELU",
    "silu": "nn.SiLU",
}
NOISE_TO_ZOO = {"normal": "normal", "ornstein_uhlenbeck": "ornstein-uhlenbeck"}


def _schedule_value(value: Any) -> tuple[Any, str | None]:
    """A JSON schedule as RL Zoo writes it (``lin_x``), with a note when it can't be exact."""
    if not isinstance(value, dict):
        return value, None
    kind = value.get("schedule")
    if kind == "constant":
        return value["value"], None
    initial, final = value["initial"], value.get("final", 0.0)
    if final == 0:
        return f"lin_{initial}", None
    return initial, f"linear schedule {initial} -> {final} has no RL Zoo form; constant used"


def _py(value: Any) -> str:
    """A Python expression for a JSON value (dict keys as keyword arguments where possible)."""
    if isinstance(value, dict):
        if all(isinstance(k, str) and k.isidentifier() for k in value):
            return "dict(" + ", ".join(f"{k}={_py(v)}" for k, v in value.items()) + ")"
        return "{" + ", ".join(f"{k!r}: {_py(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    return repr(value)


def _policy_kwargs_py(pk: dict[str, Any]) -> tuple[str, list[str]]:
    notes = []
    parts = []
    for key, value in pk.items():
        if key == "activation_fn":
            parts.append(f"activation_fn={ACTIVATIONS.get(value, value)}")
        elif key == "shared_trunk":
            notes.append(
                f"shared actor/critic trunk {value} needs autorl's features extractor "
                "(autorl.training.policies); not expressible here"
            )
        else:
            parts.append(f"{key}={_py(value)}")
    return "dict(" + ", ".join(parts) + ")", notes


def to_zoo(best: BestConfig) -> str:
    """A hyperparameter file for ``python -m rl_zoo3.train --algo ALGO -conf FILE``."""
    cfg = best.config
    env = cfg.get("env", {})
    notes: list[str] = []
    entry: dict[str, Any] = {"n_timesteps": best.timesteps, "policy": cfg["policy"]}
    entry["n_envs"] = env.get("n_envs", 1)
    if env.get("normalize_obs") or env.get("normalize_reward"):
        entry["normalize"] = (
            f"dict(norm_obs={bool(env.get('normalize_obs'))}, "
            f"norm_reward={bool(env.get('normalize_reward'))})"
        )
    for key, value in cfg["sb3_kwargs"].items():
        if key in ("learning_rate", "clip_range"):
            entry[key], note = _schedule_value(value)
            if note:
                notes.append(f"{key}: {note}")
        elif key == "policy_kwargs":
            entry[key], more = _policy_kwargs_py(value)
            notes.extend(more)
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


def to_python(best: BestConfig) -> str:
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
            expr, notes = _policy_kwargs_py(value)
            lines += [f"    # note: {n}" for n in notes]
        elif key == "action_noise":
            noise = (
                "NormalActionNoise" if value["type"] == "normal" else "OrnsteinUhlenbeckActionNoise"
            )
            lines.append(
                f"    # action_noise: {noise}(mean=zeros(n_actions), sigma={value['sigma']!r} * "
                "ones(n_actions)) from stable_baselines3.common.noise"
            )
            continue
        else:
            expr = _py(value)
        lines.append(f"    {key}={expr},")
    lines.append(")")
    env = cfg.get("env", {})
    lines.append(f"env_settings = {_py(env)}  # n_envs and VecNormalize")
    return "\n".join(lines)


def render(best: BestConfig, fmt: str) -> str:
    return RENDERERS[fmt](best)


RENDERERS = {
    "json": lambda b: json.dumps(b.to_dict(), indent=2, default=str),
    "yaml": lambda b: yaml.safe_dump(b.to_dict(), sort_keys=False),
    "zoo": to_zoo,
    "python": to_python,
}
