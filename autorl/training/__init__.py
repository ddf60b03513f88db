"""Training: Stable-Baselines3 agents from plain configurations. Import the submodules.

``run_seed`` is the trainer's entry point for code that only hands runs to child processes
(the tuning loop, the final choice): it imports torch and SB3 when it is first called, so a
process whose runs all train in children never imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autorl.types import SeedResult, TrainSpec


def run_seed(spec: TrainSpec, report: Callable[[int, float], bool] | None = None) -> SeedResult:
    """Train and evaluate one seed run (``autorl.training.trainer.train_and_evaluate``)."""
    from autorl.training.trainer import train_and_evaluate

    return train_and_evaluate(spec, report)
