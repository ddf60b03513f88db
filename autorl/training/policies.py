"""Policy building blocks SB3 lacks: an MLP trunk shared by actor and critic, and a CNN
whose stack is searched."""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import torch
from stable_baselines3.common.preprocessing import get_flattened_obs_dim
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from autorl.errors import TrialFailure
from autorl.types import FailureReason


class SharedTrunkExtractor(BaseFeaturesExtractor):
    """Flatten the observation, then ``net_arch`` hidden layers used by both actor and critic.

    With ``share_features_extractor=True`` (SB3's on-policy default) the policy's ``net_arch``
    then holds the separate heads on top of the trunk. An empty ``net_arch`` is a plain flatten.
    """

    def __init__(
        self,
        observation_space: gym.Space,
        net_arch: Sequence[int] = (64, 64),
        activation_fn: type[nn.Module] = nn.Tanh,
    ) -> None:
        in_dim = get_flattened_obs_dim(observation_space)
        widths = [int(w) for w in net_arch]
        super().__init__(observation_space, features_dim=widths[-1] if widths else in_dim)
        layers: list[nn.Module] = [nn.Flatten()]
        for width in widths:
            layers += [nn.Linear(in_dim, width), activation_fn()]
            in_dim = width
        self.trunk = nn.Sequential(*layers)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.trunk(observations)


class ConvExtractor(BaseFeaturesExtractor):
    """Convolutions (ReLU, no padding), then one linear layer of ``features_dim`` (ReLU): the
    Nature CNN's shape with its stack as data (``layers``: ``[channels, kernel, stride]``
    each; autorl/spaces/conv.py). A stack the frames are too small for is an infeasible
    configuration (``TrialFailure``): the trial ends untrained, the study goes on."""

    def __init__(
        self,
        observation_space: gym.spaces.Box,
        layers: Sequence[Sequence[int]],
        features_dim: int = 512,
    ) -> None:
        super().__init__(observation_space, features_dim=int(features_dim))
        channels, height, width = (int(s) for s in observation_space.shape)
        modules: list[nn.Module] = []
        for i, (out, kernel, stride) in enumerate(layers):
            height = (height - int(kernel)) // int(stride) + 1
            width = (width - int(kernel)) // int(stride) + 1
            if min(height, width) < 1:
                raise TrialFailure(
                    FailureReason.INFEASIBLE,
                    f"policy_kwargs.cnn: layer {i + 1} ({out}x{kernel}/{stride}) does not fit "
                    f"the {tuple(observation_space.shape[1:])} frames; use smaller kernels "
                    "or strides, or fewer layers",
                )
            modules += [nn.Conv2d(channels, int(out), int(kernel), int(stride)), nn.ReLU()]
            channels = int(out)
        modules += [nn.Flatten(), nn.Linear(channels * height * width, int(features_dim))]
        self.cnn = nn.Sequential(*modules, nn.ReLU())

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.cnn(observations)
