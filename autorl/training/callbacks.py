"""Periodic evaluation during training, reporting each result and stopping when told to."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from stable_baselines3.common.callbacks import BaseCallback

from autorl.training.guards import check_parameters
from autorl.types import Evaluation

Report = Callable[[int, float], bool]


class PeriodicEvaluation(BaseCallback):
    """Evaluates when training passes each of ``at_steps``; stops if ``report`` says so.

    ``evaluate(step)`` returns an ``Evaluation``; ``report(step, mean)`` returns whether to keep
    going (``False`` prunes). ``report`` gets the scheduled step, not the env step count that
    passed it (which depends on the number of envs and the rollout length): pruners compare
    trials at equal steps, and every trial reports at the same ones. Parameters are checked
    for NaN/inf before each evaluation.
    """

    def __init__(
        self,
        evaluate: Callable[[int], Evaluation],
        at_steps: Sequence[int],
        report: Report | None = None,
    ) -> None:
        super().__init__(verbose=0)
        self._evaluate = evaluate
        self._pending = sorted(at_steps)
        self._report = report
        self.curve: list[Evaluation] = []
        self.pruned = False

    def evaluate_now(self, scheduled_step: int) -> bool:
        """Evaluate, record and report at ``scheduled_step``; return whether training may go
        on."""
        check_parameters(self.model)
        result = self._evaluate(self.model.num_timesteps)
        self.curve.append(result)
        if self._report is not None and not self._report(scheduled_step, result.mean):
            self.pruned = True
        return not self.pruned

    def _on_step(self) -> bool:
        if not self._pending or self.num_timesteps < self._pending[0]:
            return True
        scheduled = self._pending[0]
        while self._pending and self.num_timesteps >= self._pending[0]:
            scheduled = self._pending.pop(0)
        return self.evaluate_now(scheduled)
