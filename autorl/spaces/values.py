"""Which values a named parameter may take, whatever the space says about its range.

``check_value(name, value)`` returns why a value is unusable, or ``None``. The loader applies it
to every choice, fixed value and range end; ``with_fixed`` to a forced value.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from autorl.spaces.catalog import (
    ACTIVATIONS,
    ENT_COEF_MODES,
    LAYER_WIDTHS,
    NOISE_TYPES,
    NORMALIZE_MODES,
    SCHEDULES,
)
from autorl.spaces.conv import check_stack

Check = Callable[[Any], "str | None"]


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> Check:
    def check(value: Any) -> str | None:
        if not is_number(value):
            return f"must be a number, got {value!r}"
        if low is not None and (value <= low if low_open else value < low):
            return f"must be {'>' if low_open else '>='} {low:g}, got {value!r}"
        if high is not None and (value >= high if high_open else value > high):
            return f"must be {'<' if high_open else '<='} {high:g}, got {value!r}"
        return None

    return check


def _integer(low: int, high: int | None = None, *, or_minus_one: bool = False) -> Check:
    def check(value: Any) -> str | None:
        if not is_int(value):
            return f"must be an integer, got {value!r}"
        if value < low and not (or_minus_one and value == -1):
            extra = " (or -1)" if or_minus_one else ""
            return f"must be >= {low}{extra}, got {value!r}"
        if high is not None and value > high:
            return f"must be <= {high:,}, got {value:,}"
        return None

    return check


# Upper ends past any use, which keep a hostile or mistyped space from asking for a trial that
# cannot end or cannot fit in memory (RL Zoo's spaces stay far below every one).
MAX_ENVS = 1024
MAX_ROLLOUT = 2**20  # n_steps, batch_size
MAX_EPOCHS = 1000  # n_epochs, gradient_steps, policy_delay
MAX_WIDTH, MAX_DEPTH = 8192, 32  # a layer's units, layers
MAX_BUFFER = 10**8
MAX_FRAME_STACK = 16
MAX_LEARNING_RATE = 1.0


def _one_of(options: tuple[Any, ...]) -> Check:
    def check(value: Any) -> str | None:
        if value not in options or isinstance(value, bool):
            return f"must be one of {', '.join(map(str, options))}, got {value!r}"
        return None

    return check


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false, got {value!r}"


def _positive_number(value: Any) -> str | None:
    return _number(0.0, low_open=True)(value)


def _at_most(value: Any, high: float) -> str | None:
    """Whether a number, or every number of a schedule mapping, is at most ``high``."""
    numbers = [value] if is_number(value) else [v for v in value.values() if is_number(v)]
    over = [x for x in numbers if x > high]
    return f"must be <= {high:g}, got {over[0]!r}" if over else None


def _schedule(value: Any) -> str | None:
    """A positive number, or a schedule mapping (docs/configurations.md)."""
    if is_number(value):
        return None if value > 0 else f"must be > 0, got {value!r}"
    if isinstance(value, dict):
        kind = value.get("schedule")
        if kind == "constant" and set(value) == {"schedule", "value"}:
            return _positive_number(value["value"])
        if kind == "linear" and set(value) <= {"schedule", "initial", "final"}:
            return _positive_number(value.get("initial")) or _number(0.0)(value.get("final", 0.0))
    return (
        'must be a number > 0, {"schedule": "constant", "value": x} or '
        f'{{"schedule": "linear", "initial": x, "final": y}}, got {value!r}'
    )


def _train_freq(value: Any) -> str | None:
    if is_int(value):
        return None if value >= 1 else f"must be >= 1, got {value!r}"
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and is_int(value[0])
        and value[0] >= 1
        and value[1] in ("step", "episode")
    ):
        return None
    return f'must be an integer >= 1 or [n, "step" | "episode"], got {value!r}'


def _ent_coef(value: Any) -> str | None:
    if is_number(value):
        return None if value >= 0 else f"must be >= 0, got {value!r}"
    if value == "auto":
        return None
    if isinstance(value, str) and value.startswith("auto_"):
        try:
            init = float(value[5:])
        except ValueError:
            init = -1.0
        if init > 0:
            return None
    return f'must be a number >= 0, "auto" or "auto_<initial value>", got {value!r}'


def _target_entropy(value: Any) -> str | None:
    if is_number(value) or value == "auto":
        return None
    if isinstance(value, dict) and set(value) == {"per_action_dim"}:
        return None if is_number(value["per_action_dim"]) else "per_action_dim must be a number"
    return f'must be a number, "auto" or {{"per_action_dim": k}}, got {value!r}'


def _action_noise(value: Any) -> str | None:
    if (
        isinstance(value, dict)
        and set(value) == {"type", "sigma"}
        and value["type"] in NOISE_TYPES[:2]
        and is_number(value["sigma"])
        and value["sigma"] >= 0
    ):
        return None
    return f'must be {{"type": "normal" | "ornstein_uhlenbeck", "sigma": s >= 0}}, got {value!r}'


def _mapping(value: Any) -> str | None:
    return None if isinstance(value, dict) else f"must be a mapping, got {value!r}"


def _sde_sample_freq(value: Any) -> str | None:
    if is_int(value) and (value == -1 or value >= 1):
        return None
    return f"must be -1 (once per rollout) or an integer >= 1, got {value!r}"


_CHECKS: dict[str, Check] = {
    # env settings
    "n_envs": _integer(1, MAX_ENVS),
    "normalize": _one_of(tuple(NORMALIZE_MODES)),
    "normalize_obs": _boolean,
    "normalize_reward": _boolean,
    "frame_stack": _integer(1, MAX_FRAME_STACK),
    # semantic names
    "one_minus_gamma": _number(0.0, 1.0, low_open=True, high_open=True),
    "one_minus_gae_lambda": _number(0.0, 1.0),
    "lr_schedule": _one_of(SCHEDULES),
    "lr_final_fraction": _number(0.0, 1.0),
    "clip_schedule": _one_of(SCHEDULES),
    "net_depth": _integer(0, MAX_DEPTH),
    "net_width": _integer(1, MAX_WIDTH),
    **dict.fromkeys(LAYER_WIDTHS, _integer(1, MAX_WIDTH)),
    "activation": _one_of(ACTIVATIONS),
    "critic_depth": _integer(0, MAX_DEPTH),
    "critic_width": _integer(1, MAX_WIDTH),
    "cnn": check_stack,
    "cnn_features": _integer(1, MAX_WIDTH),
    "shared_trunk": _boolean,
    "head_depth": _integer(0, MAX_DEPTH),
    "noise_type": _one_of(NOISE_TYPES),
    "noise_std": _number(0.0),
    "ent_coef_mode": _one_of(ENT_COEF_MODES),
    "ent_coef_init": _positive_number,
    "ent_coef_value": _positive_number,
    "target_entropy_per_dim": _number(),
    "policy_kwargs": _mapping,
    # SB3 keyword arguments
    "learning_rate": lambda v: _schedule(v) or _at_most(v, MAX_LEARNING_RATE),
    "clip_range": _schedule,
    "clip_range_vf": lambda v: None if v is None else _schedule(v),
    "gamma": _number(0.0, 1.0, low_open=True),
    "gae_lambda": _number(0.0, 1.0),
    "n_steps": _integer(1, MAX_ROLLOUT),
    "batch_size": _integer(1, MAX_ROLLOUT),
    "n_epochs": _integer(1, MAX_EPOCHS),
    "ent_coef": _ent_coef,
    "vf_coef": _number(0.0),
    "max_grad_norm": _positive_number,
    "use_sde": _boolean,
    "sde_sample_freq": _sde_sample_freq,
    "use_sde_at_warmup": _boolean,
    "target_kl": lambda v: None if v is None else _positive_number(v),
    "normalize_advantage": _boolean,
    "rms_prop_eps": _positive_number,
    "use_rms_prop": _boolean,
    "buffer_size": _integer(1, MAX_BUFFER),
    "learning_starts": _integer(0),
    "tau": _number(0.0, 1.0, low_open=True),
    "train_freq": _train_freq,
    "gradient_steps": _integer(1, MAX_EPOCHS, or_minus_one=True),
    "optimize_memory_usage": _boolean,
    "target_update_interval": _integer(1),
    "exploration_fraction": _number(0.0, 1.0, low_open=True),
    "exploration_initial_eps": _number(0.0, 1.0),
    "exploration_final_eps": _number(0.0, 1.0),
    "target_entropy": _target_entropy,
    "action_noise": _action_noise,
    "policy_delay": _integer(1, MAX_EPOCHS),
    "target_policy_noise": _number(0.0),
    "target_noise_clip": _number(0.0),
    "stats_window_size": _integer(1),
    "ortho_init": _boolean,
    "log_std_init": _number(),
    "full_std": _boolean,
    "use_expln": _boolean,
    "n_critics": _integer(1, MAX_DEPTH),
}


def check_value(name: str, value: Any) -> str | None:
    """Why ``value`` cannot be used for parameter ``name`` (``None``: it can)."""
    check = _CHECKS.get(name)
    return None if check is None else check(value)


def known_names() -> frozenset[str]:
    """The names ``check_value`` knows (a test keeps it covering the catalog)."""
    return frozenset(_CHECKS)
