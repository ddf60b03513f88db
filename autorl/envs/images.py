"""Image observations as Stable-Baselines3's CNNs take them, and frame stacking.

Any rank-3 ``Box`` observation with finite bounds is treated as an image: channels last
(Gymnasium's convention, ``(H, W, C)``) unless the first axis is the smaller end, as in
``(C, H, W)``; so is a rank-2 ``uint8`` frame in ``[0, 255]`` (grayscale, one channel).
``ImageObservation`` presents it as ``uint8`` in ``[0, 255]``, channels first: the one layout
SB3 normalises (it divides by 255) and never re-transposes, so the policy, its evaluations
and an exported model all see the same array. MinAtar's boolean frames become 0 or 255; a
float image in ``[low, high]`` is scaled to 256 levels. Gymnasium only, no torch.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

PIXEL_MAX = 255
MIN_GRAY_SIDE = 8  # a rank-2 uint8 observation this large a side is a grayscale frame


def image_layout(space: spaces.Space) -> str | None:
    """``"chw"``, ``"hwc"`` or ``"hw"`` (a grayscale frame: ``uint8`` in [0, 255], at least
    ``MIN_GRAY_SIDE`` a side, such as ALE's ``obs_type="grayscale"``) for an image observation
    space, ``None`` for anything else."""
    if not isinstance(space, spaces.Box):
        return None
    if len(space.shape) == 2:
        gray = space.dtype == np.uint8 and min(space.shape) >= MIN_GRAY_SIDE
        return "hw" if gray and _pixel_bounds(space) else None
    if len(space.shape) != 3:
        return None
    if not (np.isfinite(space.low).all() and np.isfinite(space.high).all()):
        return None
    return "chw" if space.shape[0] < space.shape[-1] else "hwc"


def _pixel_bounds(space: spaces.Box) -> bool:
    return bool(np.all(space.low == 0)) and bool(np.all(space.high == PIXEL_MAX))


def is_image(space: spaces.Space) -> bool:
    """Whether ``space`` is an image as autorl presents it: ``uint8`` in ``[0, 255]``, rank
    3. Any such space from ``make_env`` is ``(C, H, W)`` (``as_image_task_env``), stacked
    frames included, however many channels that gives."""
    return (
        isinstance(space, spaces.Box)
        and len(space.shape) == 3
        and space.dtype == np.uint8
        and _pixel_bounds(space)
    )


class ImageObservation(gym.ObservationWrapper):
    """An image observation as ``uint8`` ``(C, H, W)`` in ``[0, 255]``."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        space = env.observation_space
        layout = image_layout(space)
        self._channels_last, self._gray = layout == "hwc", layout == "hw"
        low = np.broadcast_to(np.asarray(space.low, dtype=np.float32), space.shape)
        high = np.broadcast_to(np.asarray(space.high, dtype=np.float32), space.shape)
        if self._gray:
            low, high = low[None], high[None]
        if self._channels_last:
            low, high = np.moveaxis(low, -1, 0), np.moveaxis(high, -1, 0)
        self._low = np.ascontiguousarray(low)
        span = np.where(high > low, high - low, 1.0)
        self._scale = (PIXEL_MAX / span).astype(np.float32)
        self.observation_space = spaces.Box(0, PIXEL_MAX, self._low.shape, dtype=np.uint8)

    def observation(self, observation: Any) -> np.ndarray:
        obs = np.asarray(observation)
        if self._gray:
            obs = obs[None]
        if self._channels_last:
            obs = np.moveaxis(obs, -1, 0)
        scaled = (obs.astype(np.float32) - self._low) * self._scale
        return np.clip(np.rint(scaled), 0, PIXEL_MAX).astype(np.uint8)


def as_image_task_env(env: gym.Env) -> gym.Env:
    """``env`` with its image observation in the layout ``is_image`` accepts (other
    observations, and images already in it, unchanged)."""
    space = env.observation_space
    layout = image_layout(space)
    if layout is None or (layout == "chw" and is_image(space)):
        return env
    return ImageObservation(env)


class StackedFrames(gym.Wrapper):
    """The last ``count`` observations joined along the first axis (an image's channels, a
    vector's entries); after a reset the stack holds the first observation ``count`` times."""

    def __init__(self, env: gym.Env, count: int) -> None:
        if count < 1:
            raise ValueError(f"frame_stack must be at least 1, got {count}")
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, spaces.Box) or not space.shape:
            raise ValueError(f"frame_stack needs a Box observation, got {space}")
        self._frames: deque[np.ndarray] = deque(maxlen=count)
        self.observation_space = spaces.Box(
            np.concatenate([space.low] * count, axis=0),
            np.concatenate([space.high] * count, axis=0),
            dtype=space.dtype,
        )

    def _stacked(self) -> np.ndarray:
        return np.concatenate(list(self._frames), axis=0)

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        for _ in range(self._frames.maxlen or 1):
            self._frames.append(np.asarray(obs))
        return self._stacked(), info

    def step(self, action: Any) -> tuple[np.ndarray, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._frames.append(np.asarray(obs))
        return self._stacked(), reward, terminated, truncated, info


def stack_frames(env: gym.Env, count: int) -> gym.Env:
    """``env`` with ``StackedFrames`` when ``count`` > 1."""
    return env if count == 1 else StackedFrames(env, count)
