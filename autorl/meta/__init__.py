"""The meta-learner: plain data about past tasks in, configurations for a new task out.

Imports no database, no Optuna and no training code; see ``docs/meta-learning.md``.
"""

from autorl.meta.data import PastTask, PastTrial, Proposal, TargetTask
from autorl.meta.normalize import Scale, scale_for, task_scale
from autorl.meta.similarity import task_weight
from autorl.meta.strategies import DEFAULT_STRATEGY, STRATEGIES, propose

__all__ = [
    "DEFAULT_STRATEGY",
    "STRATEGIES",
    "PastTask",
    "PastTrial",
    "Proposal",
    "Scale",
    "TargetTask",
    "propose",
    "scale_for",
    "task_scale",
    "task_weight",
]
