"""A trained policy's deterministic action as plain data: observation normalisation, dense
layers and activations, and the head that turns the last layer into an action.

``from_sb3`` reads it from a Stable-Baselines3 model (PPO, A2C, SAC, TD3, DQN with an MLP
or CNN policy on a Box observation) and its VecNormalize statistics, which are folded in: the graph
takes the env's raw observation. It is what ``autorl.compress.onnx_policy`` writes as ONNX
and what distillation trains a smaller copy of. Heads:

- ``argmax``: the index of the largest output (a discrete action: PPO's logits, DQN's Q-values),
  plus the action space's ``start``;
- ``clip``: the output clipped to the action bounds (PPO and A2C on Box actions, as SB3's
  ``predict`` does);
- ``rescale``: the output, in [-1, 1], mapped to the bounds (SAC's and TD3's squashed actions:
  their ``tanh`` is the graph's last layer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autorl.errors import CompressionError

ACTIVATIONS = ("tanh", "relu", "elu", "leaky_relu", "gelu", "silu", "hardtanh")
HEADS = ("argmax", "clip", "rescale")


@dataclass(frozen=True)
class Dense:
    """``x @ weight.T + bias`` (``weight``: out x in)."""

    weight: np.ndarray
    bias: np.ndarray


@dataclass(frozen=True)
class Activation:
    """An elementwise activation; ``alpha`` is ELU's and LeakyReLU's, ``low``/``high``
    Hardtanh's."""

    name: str
    alpha: float = 0.0
    low: float = -1.0
    high: float = 1.0


@dataclass(frozen=True)
class Conv:
    """A 2-D convolution without padding (``weight``: out x in x kh x kw); the layers before
    the first dense layer after it are flattened, channel first, as torch's ``Flatten``."""

    weight: np.ndarray
    bias: np.ndarray
    stride: tuple[int, int]


Layer = Dense | Conv | Activation


@dataclass(frozen=True)
class PolicyGraph:
    """A deterministic policy: raw observation in, action out."""

    obs_shape: tuple[int, ...]
    layers: tuple[Layer, ...]
    head: str
    action_shape: tuple[int, ...] = ()
    action_low: np.ndarray | None = None
    action_high: np.ndarray | None = None
    action_start: int = 0
    obs_scale: float = 1.0  # SB3 divides image observations by 255
    obs_mean: np.ndarray | None = None
    obs_std: np.ndarray | None = None  # sqrt(var + epsilon) of VecNormalize
    obs_clip: float | None = None
    frame_stack: int = 1  # the observation is the env's last k joined (autorl.envs.images)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def obs_dim(self) -> int:
        return int(np.prod(self.obs_shape))

    @property
    def parameters(self) -> int:
        """Weights and biases of the dense and convolutional layers (normalisation constants
        not counted)."""
        return sum(
            int(d.weight.size + d.bias.size) for d in self.layers if isinstance(d, Dense | Conv)
        )

    @property
    def convolutional(self) -> bool:
        return any(isinstance(layer, Conv) for layer in self.layers)

    @property
    def out_dim(self) -> int:
        """Outputs of the last dense layer (actions, or a discrete action's logits)."""
        return int(next(d for d in reversed(self.layers) if isinstance(d, Dense)).weight.shape[0])

    @property
    def hidden_widths(self) -> tuple[int, ...]:
        dense = [d for d in self.layers if isinstance(d, Dense)]
        return tuple(int(d.weight.shape[0]) for d in dense[:-1])

    @property
    def hidden_activation(self) -> Activation | None:
        """The activation after the first hidden layer (None for a linear policy)."""
        dense = [i for i, d in enumerate(self.layers) if isinstance(d, Dense)]
        if len(dense) < 2 or dense[0] + 1 >= len(self.layers):
            return None
        nxt = self.layers[dense[0] + 1]
        return nxt if isinstance(nxt, Activation) else None

    @property
    def output_activation(self) -> Activation | None:
        """An activation after the last dense layer (SAC's and TD3's tanh), if any."""
        last = self.layers[-1]
        return last if isinstance(last, Activation) else None


def _activation(module: Any) -> Activation:
    from torch import nn

    simple = {nn.Tanh: "tanh", nn.ReLU: "relu", nn.SiLU: "silu"}
    for cls, name in simple.items():
        if type(module) is cls:
            return Activation(name)
    if type(module) is nn.GELU:
        if module.approximate != "none":
            raise CompressionError("GELU with the tanh approximation is not supported")
        return Activation("gelu")
    if type(module) is nn.ELU:
        return Activation("elu", alpha=float(module.alpha))
    if type(module) is nn.LeakyReLU:
        return Activation("leaky_relu", alpha=float(module.negative_slope))
    if type(module) is nn.Hardtanh:
        return Activation("hardtanh", low=float(module.min_val), high=float(module.max_val))
    raise CompressionError(
        f"a {type(module).__name__} layer cannot be compressed: autorl compresses MLP policies "
        f"(Linear layers with {', '.join(ACTIVATIONS)})"
    )


def layers_of(modules: list[Any]) -> list[Layer]:
    """Dense layers and activations of a chain of torch modules, in order."""
    from stable_baselines3.common.torch_layers import FlattenExtractor, NatureCNN
    from torch import nn

    from autorl.training.policies import ConvExtractor, SharedTrunkExtractor

    out: list[Layer] = []
    for module in modules:
        if isinstance(module, nn.Sequential):
            out += layers_of(list(module))
        elif isinstance(module, SharedTrunkExtractor):
            out += layers_of([module.trunk])
        elif isinstance(module, ConvExtractor):
            out += layers_of([module.cnn])
        elif isinstance(module, NatureCNN):
            out += layers_of([module.cnn, module.linear])
        elif isinstance(module, nn.Conv2d):
            out.append(_conv(module))
        elif isinstance(module, FlattenExtractor | nn.Flatten | nn.Identity):
            continue
        elif isinstance(module, nn.Linear):
            weight = module.weight.detach().cpu().numpy().astype(np.float32)
            bias = (
                module.bias.detach().cpu().numpy().astype(np.float32)
                if module.bias is not None
                else np.zeros(weight.shape[0], dtype=np.float32)
            )
            out.append(Dense(weight, bias))
        elif isinstance(module, nn.Module) and not list(module.children()):
            out.append(_activation(module))
        else:
            raise CompressionError(
                f"a {type(module).__name__} cannot be compressed: autorl compresses MLP "
                "policies and CNNs of Conv2d, ReLU and Linear layers"
            )
    return out


def _conv(module: Any) -> Conv:
    plain = (
        tuple(module.padding) == (0, 0)
        and tuple(module.dilation) == (1, 1)
        and module.groups == 1
        and module.padding_mode == "zeros"
    )
    if not plain:
        raise CompressionError(
            "a Conv2d with padding, dilation or groups cannot be compressed (autorl's stacks "
            "have none)"
        )
    weight = module.weight.detach().cpu().numpy().astype(np.float32)
    bias = (
        module.bias.detach().cpu().numpy().astype(np.float32)
        if module.bias is not None
        else np.zeros(weight.shape[0], dtype=np.float32)
    )
    return Conv(weight, bias, (int(module.stride[0]), int(module.stride[1])))


def _chain(model: Any) -> tuple[list[Any], str]:
    """The torch modules from observation to the head's input, and the head."""
    from gymnasium import spaces
    from torch import nn

    policy, name = model.policy, type(model).__name__.lower()
    discrete = isinstance(model.action_space, spaces.Discrete)
    if name in ("ppo", "a2c"):
        extractor = getattr(policy, "pi_features_extractor", policy.features_extractor)
        chain = [extractor, policy.mlp_extractor.policy_net, policy.action_net]
        if discrete:
            return chain, "argmax"
        if policy.squash_output:
            return [*chain, nn.Tanh()], "rescale"
        return chain, "clip"
    if name == "sac":
        actor = policy.actor
        return [actor.features_extractor, actor.latent_pi, actor.mu, nn.Tanh()], "rescale"
    if name == "td3":
        return [policy.actor.features_extractor, policy.actor.mu], "rescale"
    if name == "dqn":
        return [policy.q_net.features_extractor, policy.q_net.q_net], "argmax"
    raise CompressionError(f"{type(model).__name__} models cannot be compressed yet")


def from_sb3(model: Any, norm: Any = None, frame_stack: int = 1) -> PolicyGraph:
    """The deterministic policy of an SB3 ``model``; ``norm``: its VecNormalize (or None);
    ``frame_stack``: the training's ``env.frame_stack`` (the observation it acts on)."""
    from gymnasium import spaces
    from stable_baselines3.common.preprocessing import is_image_space

    obs_space, action_space = model.observation_space, model.action_space
    if not isinstance(obs_space, spaces.Box):
        raise CompressionError(
            f"the observation space {obs_space} is not a Box: autorl compresses policies "
            "on Box observations"
        )
    if not isinstance(action_space, spaces.Box | spaces.Discrete):
        raise CompressionError(f"the action space {action_space} is neither Box nor Discrete")
    modules, head = _chain(model)
    layers = layers_of(modules)
    if not any(isinstance(layer, Dense) for layer in layers):
        raise CompressionError("the policy has no dense layer to export")
    scale = 1.0
    if is_image_space(obs_space) and getattr(model.policy, "normalize_images", False):
        scale = 1.0 / 255.0
    mean = std = clip = None
    if norm is not None and norm.norm_obs:
        mean = np.asarray(norm.obs_rms.mean, dtype=np.float32).reshape(-1)
        std = np.sqrt(np.asarray(norm.obs_rms.var, dtype=np.float64) + norm.epsilon)
        std, clip = std.astype(np.float32).reshape(-1), float(norm.clip_obs)
    box = isinstance(action_space, spaces.Box)
    return PolicyGraph(
        obs_shape=tuple(int(n) for n in obs_space.shape),
        layers=tuple(layers),
        head=head,
        action_shape=tuple(int(n) for n in action_space.shape) if box else (),
        action_low=np.asarray(action_space.low, np.float32).reshape(-1) if box else None,
        action_high=np.asarray(action_space.high, np.float32).reshape(-1) if box else None,
        action_start=0 if box else int(action_space.start),
        obs_scale=scale,
        obs_mean=mean,
        obs_std=std,
        obs_clip=clip,
        frame_stack=int(frame_stack),
        meta={"algo": type(model).__name__.lower()},
    )
