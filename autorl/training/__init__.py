"""Training: Stable-Baselines3 agents from plain configurations. Import the submodules.

``run_seed`` and ``measure_cost`` are the trainer's entry points for code that only hands
runs to child processes (the tuning loop, the final choice): they import torch and SB3 when
first called, so a process whose runs all train in children never imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autorl.training.cost import PolicyCost
    from autorl.types import SeedResult, TrainSpec


def run_seed(spec: TrainSpec, report: Callable[[int, float], bool] | None = None) -> SeedResult:
    """Train and evaluate one seed run (``autorl.training.trainer.train_and_evaluate``)."""
    from autorl.training.trainer import train_and_evaluate

    return train_and_evaluate(spec, report)


def measure_cost(spec: TrainSpec, report: Callable[[int, float], bool] | None = None) -> PolicyCost:
    """What ``spec``'s policy costs, untrained (``autorl.training.cost.policy_cost``); a
    ``TrainFn``'s shape, so that it runs in a trial's child process like a seed run."""
    from autorl.training.cost import policy_cost

    return policy_cost(spec.task, spec.config, spec.device)
