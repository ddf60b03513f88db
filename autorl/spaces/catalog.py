"""What each algorithm accepts: SB3 keyword arguments, semantic names, env settings.

Plain tables, no SB3 import (the API process validates spaces without it); a unit test keeps
them in step with the installed Stable-Baselines3 signatures.
"""

from __future__ import annotations

ALGORITHMS: tuple[str, ...] = ("a2c", "dqn", "ppo", "sac", "td3")
ON_POLICY = frozenset({"a2c", "ppo"})
OFF_POLICY = frozenset({"dqn", "sac", "td3"})
WITH_CRITIC = frozenset({"a2c", "ppo", "sac", "td3"})  # an actor and a separate critic

ACTION_SPACE_KINDS: tuple[str, ...] = ("box", "discrete", "multi_binary", "multi_discrete")
SUPPORTED_KINDS: dict[str, frozenset[str]] = {
    "a2c": frozenset(ACTION_SPACE_KINDS),
    "ppo": frozenset(ACTION_SPACE_KINDS),
    "dqn": frozenset({"discrete"}),
    "sac": frozenset({"box"}),
    "td3": frozenset({"box"}),
}
POLICIES: tuple[str, ...] = ("MlpPolicy", "CnnPolicy", "MultiInputPolicy")

_OFF_POLICY_COMMON = frozenset(
    {
        "learning_rate",
        "buffer_size",
        "learning_starts",
        "batch_size",
        "tau",
        "gamma",
        "train_freq",
        "gradient_steps",
        "optimize_memory_usage",
        "n_steps",
        "stats_window_size",
    }
)

# Constructor keyword arguments with JSON-able values, passed to SB3 unchanged (after
# ``materialize`` for the ones docs/configurations.md lists). ``policy_kwargs`` is separate.
SB3_KWARGS: dict[str, frozenset[str]] = {
    "ppo": frozenset(
        {
            "learning_rate",
            "n_steps",
            "batch_size",
            "n_epochs",
            "gamma",
            "gae_lambda",
            "clip_range",
            "clip_range_vf",
            "normalize_advantage",
            "ent_coef",
            "vf_coef",
            "max_grad_norm",
            "use_sde",
            "sde_sample_freq",
            "target_kl",
            "stats_window_size",
        }
    ),
    "a2c": frozenset(
        {
            "learning_rate",
            "n_steps",
            "gamma",
            "gae_lambda",
            "ent_coef",
            "vf_coef",
            "max_grad_norm",
            "rms_prop_eps",
            "use_rms_prop",
            "use_sde",
            "sde_sample_freq",
            "normalize_advantage",
            "stats_window_size",
        }
    ),
    "dqn": _OFF_POLICY_COMMON
    | {
        "target_update_interval",
        "exploration_fraction",
        "exploration_initial_eps",
        "exploration_final_eps",
        "max_grad_norm",
    },
    "sac": _OFF_POLICY_COMMON
    | {
        "action_noise",
        "ent_coef",
        "target_update_interval",
        "target_entropy",
        "use_sde",
        "sde_sample_freq",
        "use_sde_at_warmup",
    },
    "td3": _OFF_POLICY_COMMON
    | {"action_noise", "policy_delay", "target_policy_noise", "target_noise_clip"},
}

# SB3 defaults the constraints need when a space leaves the parameter out.
SB3_DEFAULTS: dict[str, dict[str, object]] = {
    "ppo": {"n_steps": 2048, "batch_size": 64, "n_epochs": 10, "use_sde": False},
    "a2c": {"n_steps": 5, "use_sde": False},
    "dqn": {"train_freq": 4, "gradient_steps": 1},
    "sac": {"train_freq": 1, "gradient_steps": 1, "use_sde": False},
    "td3": {"train_freq": 1, "gradient_steps": 1},
}

# Names that go into ``policy_kwargs`` unchanged.
POLICY_KWARGS: dict[str, frozenset[str]] = {
    "ppo": frozenset({"ortho_init", "log_std_init", "full_std", "use_expln"}),
    "a2c": frozenset({"ortho_init", "log_std_init", "full_std", "use_expln"}),
    "dqn": frozenset(),
    "sac": frozenset({"log_std_init", "use_expln", "n_critics"}),
    "td3": frozenset({"n_critics"}),
}

# Env-level settings: only in the ``env:`` section, they become ``TrainConfig.env``.
# ``normalize`` is shorthand for the two switches: none, obs, reward or both.
ENV_SETTINGS = frozenset(
    {"n_envs", "normalize", "normalize_obs", "normalize_reward", "frame_stack"}
)
NORMALIZE_MODES: dict[str, tuple[bool, bool]] = {
    "none": (False, False),
    "obs": (True, False),
    "reward": (False, True),
    "both": (True, True),
}

_ALL = frozenset(ALGORITHMS)
# Hidden layer k's own width (layer 1 is ``net_width``; a layer without one takes net_width).
LAYER_WIDTHS: tuple[str, ...] = ("net_width_2", "net_width_3", "net_width_4")
# Names that ``resolve`` transforms (see autorl/spaces/transform.py), and who accepts them.
SEMANTIC: dict[str, frozenset[str]] = {
    "one_minus_gamma": _ALL,
    "one_minus_gae_lambda": ON_POLICY,
    "lr_schedule": _ALL,
    "lr_final_fraction": _ALL,
    "clip_schedule": frozenset({"ppo"}),
    "net_depth": _ALL,
    "net_width": _ALL,
    "activation": _ALL,
    **dict.fromkeys(LAYER_WIDTHS, _ALL),
    "critic_depth": WITH_CRITIC,
    "critic_width": WITH_CRITIC,
    "cnn": _ALL,  # a convolutional stack for image observations (autorl/spaces/conv.py)
    "cnn_features": _ALL,
    "shared_trunk": ON_POLICY,
    "head_depth": ON_POLICY,
    "noise_type": frozenset({"sac", "td3"}),
    "noise_std": frozenset({"sac", "td3"}),
    "ent_coef_mode": frozenset({"sac"}),
    "ent_coef_init": frozenset({"sac"}),
    "ent_coef_value": frozenset({"sac"}),
    "target_entropy_per_dim": frozenset({"sac"}),
    "policy_kwargs": _ALL,  # a fixed mapping merged under the semantic policy settings
}

# Pairs that say the same thing two ways: a space may use one of each.
CONFLICTS: tuple[tuple[str, str], ...] = (
    ("gamma", "one_minus_gamma"),
    ("gae_lambda", "one_minus_gae_lambda"),
    ("ent_coef", "ent_coef_mode"),
    ("target_entropy", "target_entropy_per_dim"),
    ("action_noise", "noise_type"),
    ("normalize", "normalize_obs"),
    ("normalize", "normalize_reward"),
)

# A parameter that makes no sense without another one.
REQUIRES: dict[str, str] = {
    "lr_schedule": "learning_rate",
    "lr_final_fraction": "lr_schedule",
    "clip_schedule": "clip_range",
    "net_depth": "net_width",
    "net_width": "net_depth",
    "head_depth": "shared_trunk",
    **dict.fromkeys(LAYER_WIDTHS, "net_depth"),
    "critic_depth": "critic_width",
    "critic_width": "net_depth",
    "cnn": "cnn_features",
    "cnn_features": "cnn",
    "noise_std": "noise_type",
    "ent_coef_init": "ent_coef_mode",
    "ent_coef_value": "ent_coef_mode",
    "target_entropy_per_dim": "ent_coef_mode",
}

# Parameters that population-based training may change while a run trains (``mutable: true``
# in a space): SB3 reads them from the model's attributes at every update, so a new value set
# on a restored model takes effect (``autorl.training.segments.apply_hyperparameters``).
# Everything else is built into the networks, the buffers or the env.
MUTABLE: dict[str, frozenset[str]] = {
    "ppo": frozenset({"learning_rate", "ent_coef", "clip_range", "vf_coef", "max_grad_norm"}),
    "a2c": frozenset({"learning_rate", "ent_coef", "vf_coef", "max_grad_norm"}),
    "dqn": frozenset(
        {"learning_rate", "exploration_final_eps", "exploration_fraction", "max_grad_norm"}
    ),
    "sac": frozenset({"learning_rate", "tau"}),
    "td3": frozenset({"learning_rate", "tau"}),
}

SCHEDULES = ("constant", "linear")
ACTIVATIONS = ("tanh", "relu", "elu", "leaky_relu", "gelu", "silu")
NOISE_TYPES = ("normal", "ornstein_uhlenbeck", "none")
ENT_COEF_MODES = ("auto", "fixed")


def accepted_names(algo: str) -> frozenset[str]:
    """Every parameter name a space for ``algo`` may declare (env settings included)."""
    semantic = {name for name, algos in SEMANTIC.items() if algo in algos}
    return SB3_KWARGS[algo] | POLICY_KWARGS[algo] | ENV_SETTINGS | semantic


def owners(name: str) -> list[str]:
    """The algorithms that accept ``name`` (empty: none does)."""
    return [algo for algo in ALGORITHMS if name in accepted_names(algo)]
