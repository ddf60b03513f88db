"""Convolutional feature extractors for image observations, as search-space values.

A stack is written ``CxK[/S]`` per layer, joined by ``-``: ``16x3-32x3`` is 16 channels of 3x3
kernels then 32 of 3x3, stride 1; ``32x8/4`` is 32 channels of 8x8 with stride 4. ``nature``
names the Nature DQN stack (Mnih et al. 2015, SB3's ``NatureCNN``). ``cnn_features`` is the
width of the linear layer after the last convolution. Plain data, no torch: the loader checks
a space's stacks with it, and ``fitting_stacks`` keeps to those a task's frames can take.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

NATURE = "32x8/4-64x4/2-64x3"
ALIASES = {"nature": NATURE}
# The stacks a task's default space chooses among (those its frames fit): MinAtar's one
# layer (Young & Tian 2019), two- and three-layer stacks of small kernels, the 2013 DQN's
# (Mnih et al.) and the Nature DQN's.
CONV_STACKS: tuple[str, ...] = (
    "16x3",
    "16x3-32x3",
    "32x3-64x3",
    "16x5/2-32x3",
    "16x8/4-32x4/2",
    "nature",
)
CNN_FEATURES: tuple[int, ...] = (64, 128, 256, 512)
MAX_CHANNELS, MAX_KERNEL, MAX_LAYERS = 1024, 32, 8
MAX_FLAT_FEATURES = 32_768  # the Nature stack on a 210x160 frame leaves 22,528
_LAYER = re.compile(r"(\d+)x(\d+)(?:/(\d+))?")


class ConvLayer(NamedTuple):
    channels: int
    kernel: int
    stride: int


def parse_stack(spec: str) -> tuple[ConvLayer, ...]:
    """The layers of a stack written ``CxK[/S]-...`` (or an alias); ValueError if malformed."""
    if not isinstance(spec, str):
        raise ValueError(f"must be a stack such as '16x3-32x3' or 'nature', got {spec!r}")
    text = ALIASES.get(spec, spec)
    layers = []
    for part in text.split("-"):
        match = _LAYER.fullmatch(part.strip())
        if match is None:
            raise ValueError(
                f"{spec!r}: layer {part!r} is not CHANNELSxKERNEL[/STRIDE] (e.g. 32x8/4)"
            )
        channels, kernel, stride = (int(g) if g else 1 for g in match.groups())
        if not (1 <= channels <= MAX_CHANNELS and 1 <= kernel <= MAX_KERNEL and stride >= 1):
            raise ValueError(
                f"{spec!r}: layer {part!r} needs 1..{MAX_CHANNELS} channels, a kernel of "
                f"1..{MAX_KERNEL} and a stride >= 1"
            )
        layers.append(ConvLayer(channels, kernel, stride))
    if len(layers) > MAX_LAYERS:
        raise ValueError(f"{spec!r}: at most {MAX_LAYERS} layers")
    return tuple(layers)


def check_stack(value: Any) -> str | None:
    """Why ``value`` is not a stack (``None``: it is); for ``spaces.values``."""
    try:
        parse_stack(value)
    except ValueError as exc:
        return str(exc)
    return None


def output_size(layers: tuple[ConvLayer, ...], height: int, width: int) -> tuple[int, int]:
    """The frame size after ``layers`` (no padding); a side below 1 means it does not fit."""
    for layer in layers:
        height = (height - layer.kernel) // layer.stride + 1
        width = (width - layer.kernel) // layer.stride + 1
    return height, width


def fits(spec: str, height: int, width: int) -> bool:
    """Whether ``spec`` leaves at least one pixel of a ``height`` x ``width`` frame."""
    return min(output_size(parse_stack(spec), height, width)) >= 1


def flat_features(spec: str, height: int, width: int) -> int:
    """The values the stack hands the linear layer after it (channels x height x width)."""
    layers = parse_stack(spec)
    h, w = output_size(layers, height, width)
    return layers[-1].channels * max(h, 0) * max(w, 0)


def fitting_stacks(height: int, width: int) -> list[str]:
    """The ``CONV_STACKS`` that a ``height`` x ``width`` frame fits, leaving at most
    ``MAX_FLAT_FEATURES`` values (a stride-1 stack on a 210x160 Atari frame would hand a
    linear layer of 512 half a million inputs: 269M weights)."""
    return [
        spec
        for spec in CONV_STACKS
        if fits(spec, height, width) and flat_features(spec, height, width) <= MAX_FLAT_FEATURES
    ]


def extractor_kwargs(spec: str, features_dim: int) -> dict[str, Any]:
    """The JSON ``policy_kwargs.cnn`` of a stack (docs/configurations.md)."""
    return {
        "layers": [list(layer) for layer in parse_stack(spec)],
        "features_dim": int(features_dim),
    }
