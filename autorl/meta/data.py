"""Plain data the meta-learner takes and returns. No database, no Optuna, no training."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from autorl.types import TaskFeatures


@dataclass(frozen=True)
class PastTrial:
    """One finished trial of a past task: the sampled parameters and the tuning score.

    ``score`` is None for a failed trial (diverged, env error, timeout ...): a configuration
    that failed is evidence against it. A pruned trial keeps its last reported score.
    ``seeds`` is how many complete seed runs ``score`` aggregates (weaker evidence when fewer:
    see ``autorl.meta.normalize.Shrink``).
    """

    params: Mapping[str, Any]
    score: float | None
    number: int = -1  # the trial's number in its study (for provenance)
    study: str = ""
    distributions: Mapping[str, str] = field(default_factory=dict)  # Optuna's JSON, opaque here
    seeds: int = 1


@dataclass(frozen=True)
class PastTask:
    """Everything the meta-learner knows about one earlier task (for one algorithm)."""

    key: str
    trials: tuple[PastTrial, ...]
    families: tuple[str, ...] = ()
    features: TaskFeatures | None = None
    threshold: float | None = None  # the return that counts as solved, if known
    name: str = ""  # for messages: a family variant name or the env id


@dataclass(frozen=True)
class TargetTask:
    """The new task to warm-start."""

    key: str
    families: tuple[str, ...] = ()
    features: TaskFeatures | None = None


@dataclass(frozen=True)
class Proposal:
    """A configuration to try first on the target, and where it comes from."""

    params: Mapping[str, Any]
    source_task: str  # PastTask.key
    source_study: str = ""
    source_trial: int = -1
    expected: float = 0.0  # the strategy's estimate of its normalised score on the target
    why: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def origin(self) -> str:
        """``task:<key>/<study>#<trial>``: stored with the enqueued trial."""
        return f"task:{self.source_task}/{self.source_study}#{self.source_trial}"
