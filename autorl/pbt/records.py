"""Population-based training's plain data: a run's settings, the run, one member's segment."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from autorl.errors import UsageError
from autorl.types import TaskSpec

EXPLORERS = ("perturb", "pb2")
MAX_GENERATIONS = 1000

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


@dataclass(frozen=True)
class PbtSettings:
    """How a population trains: ``population`` members, each trained to ``timesteps`` env
    steps in segments of ``interval``; after each segment the bottom ``quantile`` copies a
    top member and explores (``perturb`` or ``pb2``); members are scored on ``episodes``
    evaluation episodes, the same ones for every member of a generation."""

    population: int
    timesteps: int
    interval: int
    quantile: float = 0.25
    explore: str = "perturb"
    resample_probability: float = 0.25
    episodes: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if self.population < 2:
            problems.append(f"--population must be at least 2, got {self.population}")
        if self.interval < 1 or self.timesteps < self.interval:
            problems.append(
                f"--interval must be between 1 and --timesteps ({self.timesteps}), "
                f"got {self.interval}"
            )
        elif math.ceil(self.timesteps / self.interval) > MAX_GENERATIONS:
            problems.append(
                f"--timesteps / --interval gives {math.ceil(self.timesteps / self.interval)} "
                f"segments per member; at most {MAX_GENERATIONS}: use a larger --interval"
            )
        if not 0 < self.quantile <= 0.5:
            problems.append(f"--quantile must be in (0, 0.5], got {self.quantile}")
        if self.explore not in EXPLORERS:
            problems.append(
                f"--explore must be one of {', '.join(EXPLORERS)}, got {self.explore!r}"
            )
        if not 0 <= self.resample_probability <= 1:
            problems.append(
                f"resample_probability must be in [0, 1], got {self.resample_probability}"
            )
        if self.episodes < 1:
            problems.append(f"--episodes must be at least 1, got {self.episodes}")
        if problems:
            raise UsageError("; ".join(problems))

    def boundaries(self) -> tuple[int, ...]:
        """The env-step count at the end of each generation's segment (the last = timesteps)."""
        ends = list(range(self.interval, self.timesteps, self.interval))
        return (*ends, self.timesteps)

    @property
    def generations(self) -> int:
        return len(self.boundaries())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PbtSettings:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class PbtRun:
    """A stored run: what it trains (task, algorithm, the space's document) and its state."""

    id: int
    name: str
    task: TaskSpec
    algo: str
    action_kind: str
    settings: PbtSettings
    space: Mapping[str, Any]
    state: str = RUNNING
    message: str | None = None


@dataclass(frozen=True)
class Segment:
    """Member ``member`` training generation ``generation`` (env steps ``start_step`` to
    ``until_step``) with ``params``, from the checkpoint member ``source_member`` left after
    the previous generation (``None``: from scratch). ``result`` holds the evaluation's
    returns, env steps, wall time and checkpoint costs once it is done."""

    id: int
    run_id: int
    member: int
    generation: int
    start_step: int
    until_step: int
    params: Mapping[str, Any]
    source_member: int | None
    status: str = QUEUED
    worker: str | None = None
    score: float | None = None
    result: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def exploited(self) -> bool:
        """Whether this segment starts from another member's checkpoint (a copy)."""
        return self.source_member is not None and self.source_member != self.member
