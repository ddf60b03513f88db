"""Pick the torch device and thread count for a worker."""

from __future__ import annotations

import logging
import os
import sys

from autorl.errors import UsageError

log = logging.getLogger(__name__)

IMAGE_POLICIES = ("CnnPolicy", "MultiInputPolicy")


def resolve_device(requested: str, policy: str) -> str:
    """``auto``: CUDA for image policies when a GPU is present, else CPU.

    Small MLP policies train faster on CPU: the GPU round trip per env step costs more than the
    matrix work it saves (SB3 warns about PPO MlpPolicy on GPU for the same reason). ``cuda``
    or ``cuda:N`` force the GPU; asking for CUDA where there is none is an error.
    """
    if requested == "cpu" or (requested == "auto" and policy not in IMAGE_POLICIES):
        return "cpu"  # known without importing torch (~1 s)
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    index = requested.removeprefix("cuda").removeprefix(":")
    if not requested.startswith("cuda") or not (index == "" or index.isdigit()):
        raise UsageError(f"--device {requested!r}: use auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise UsageError(
            f"--device {requested}: no CUDA device is visible to torch here; "
            "use --device cpu or auto"
        )
    count = torch.cuda.device_count()
    if index and int(index) >= count:
        raise UsageError(
            f"--device {requested}: torch sees {count} CUDA device(s), cuda:0..cuda:{count - 1}"
        )
    return requested


def training_threads(policy: str, device: str, share: int) -> int:
    """Torch threads for a worker that trains ``policy`` on ``device`` with ``share`` cores
    to itself: one on the CPU, the share with a GPU. An RL update's tensors are too small to
    split (a batch of tens to hundreds of observations): extra threads wait on each other,
    and on a machine shared with another job they made a 640-step CartPole MLP trial 17x
    slower (341 s against 19 s, ``docs/service.md``) and a MinAtar CNN's 300 steps 30x slower
    (17.7 s against 0.6 s, 2-core VM, 2026-12-04). ``policy`` is kept for callers."""
    del policy
    return 1 if device == "cpu" else max(1, share)


_threads: int | None = None  # this process's setting, for torch and the children it starts


def set_threads(n: int | None) -> int:
    """Limit torch (and BLAS) to ``n`` threads: the worker's share of the cores. Torch is
    set now if this process has imported it, else when it trains (``apply_threads``); the
    child processes it starts for training take the setting (``threads_setting``)."""
    global _threads
    _threads = n or max(1, (os.cpu_count() or 1))
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(_threads)
    return _threads


def threads_setting() -> int | None:
    """The thread count set for this process (None: torch's default)."""
    return _threads


def apply_threads() -> None:
    """Give torch this process's thread setting (before training in this process)."""
    if _threads is not None:
        import torch

        if torch.get_num_threads() != _threads:
            torch.set_num_threads(_threads)
