"""Policy building blocks SB3 lacks: an MLP trunk shared by actor and critic."""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import torch
from stable_baselines3.common.preprocessing import get_flattened_obs_dim
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn


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
