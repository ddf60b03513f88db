"""TPE that keeps learning from past tasks after the warm-start trials: a fading prior.

Each proposal is made by a TPE sampler over a shadow study holding (a) the similar past
tasks' trials, with their scores normalised per task (``autorl.meta.normalize``), and (b)
this study's own finished trials, normalised the same way with this task's random-policy
return and best score so far. The share of past trials shrinks linearly with the study's
own finished trials and is gone after ``fade_trials``: from then on it is plain TPE, so
history that does not fit this task stops steering the search.

The prior is bounded (``MAX_PRIOR_POINTS``): TPE's cost grows with its observations, and a
knowledge base of 100,000 trials would otherwise make every proposal slower than a trial.
The most similar tasks fill it first; a task with more trials than fit keeps its best
quarter (TPE's "good" side is at most 25 trials) and an even spread of the rest by score
(the shape of the "bad" side).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, json_to_distribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState, create_trial

from autorl.meta import PastTask, TargetTask, task_scale, task_weight
from autorl.meta.normalize import Scale
from autorl.meta.strategies import MIN_WEIGHT
from autorl.study.factory import tpe

FADE_TRIALS = 20
MAX_PRIOR_POINTS = 200


@dataclass(frozen=True)
class PriorPoint:
    """One past trial: its parameters, their distributions and its normalised score."""

    params: dict[str, Any]
    distributions: dict[str, BaseDistribution]
    value: float
    weight: float = 1.0


def bounded_prior(points: Sequence[PriorPoint], limit: int = MAX_PRIOR_POINTS) -> list[PriorPoint]:
    """At most ``limit`` points, most similar tasks (highest weight) first, each task's
    share spread over its scores (see the module docstring)."""
    by_weight: dict[float, list[PriorPoint]] = {}
    for point in points:
        by_weight.setdefault(point.weight, []).append(point)
    kept: list[PriorPoint] = []
    for weight in sorted(by_weight, reverse=True):
        room = limit - len(kept)
        if room <= 0:
            break
        ranked = sorted(by_weight[weight], key=lambda p: -p.value)
        if len(ranked) <= room:
            kept += ranked
            continue
        top = max(1, room // 4)
        if room <= top:
            kept += ranked[:room]
            break
        rest, spread = ranked[top:], room - top
        step = (len(rest) - 1) / max(1, spread - 1)  # from the best of the rest to the worst
        kept += ranked[:top] + [rest[round(i * step)] for i in range(spread)]
    return kept


class PriorTPESampler(BaseSampler):
    """Multivariate TPE whose observations include a fading set of past trials."""

    def __init__(
        self,
        prior: Sequence[PriorPoint],
        scale: Callable[[list[float]], Scale],
        fade_trials: int = FADE_TRIALS,
        seed: int | None = None,
        startup: int = 5,
    ) -> None:
        self._prior = bounded_prior(prior)
        self._scale = scale
        self._fade = max(1, fade_trials)
        self._plain = tpe(seed, startup)
        self._shadowed = tpe(seed, 0)
        self._cache: tuple[int, tuple[optuna.Study, FrozenTrial] | None] | None = None

    def prior_share(self, own_finished: int) -> int:
        """How many past trials the next proposal sees."""
        return round(len(self._prior) * max(0.0, 1.0 - own_finished / self._fade))

    def _shadow(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> tuple[optuna.Study, FrozenTrial] | None:
        """The shadow study and its stand-in for ``trial``; None once the prior has faded."""
        if not self._prior:
            return None
        if self._cache is not None and self._cache[0] == trial.number:
            return self._cache[1]
        # the read TPE makes of this trial's study (Optuna keeps it from ask() to ask())
        own = study._get_trials(deepcopy=False, states=(TrialState.COMPLETE,), use_cache=True)
        share = self.prior_share(len(own))
        shadow: tuple[optuna.Study, FrozenTrial] | None = None
        if share:
            scale = self._scale([t.value for t in own if t.value is not None])
            points = [
                create_trial(params=p.params, distributions=p.distributions, value=p.value)
                for p in self._prior[:share]
            ]
            points += [
                create_trial(params=t.params, distributions=t.distributions, value=scale(t.value))
                for t in own
            ]
            mirror = optuna.create_study(direction="maximize", sampler=self._shadowed)
            mirror.add_trials(points)
            # TPE records per-trial state on the trial it samples for: give it one of its own.
            stand_in = mirror._storage.create_new_trial(mirror._study_id)
            shadow = (mirror, mirror._storage.get_trial(stand_in))
        self._cache = (trial.number, shadow)
        return shadow

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        shadow = self._shadow(study, trial)
        if shadow is None:
            return self._plain.infer_relative_search_space(study, trial)
        return self._shadowed.infer_relative_search_space(*shadow)

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        shadow = self._shadow(study, trial)
        if shadow is None:
            return self._plain.sample_relative(study, trial, search_space)
        return self._shadowed.sample_relative(*shadow, search_space)

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        shadow = self._shadow(study, trial)
        if shadow is None:
            return self._plain.sample_independent(study, trial, param_name, param_distribution)
        return self._shadowed.sample_independent(*shadow, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._plain.before_trial(study, trial)

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._plain.after_trial(study, trial, state, values)


def prior_points(past: Sequence[PastTask], target: TargetTask) -> list[PriorPoint]:
    """The similar past tasks' trials as prior points (normalised per task, weighted)."""
    points = []
    for task in past:
        weight = task_weight(task, target)
        if weight < MIN_WEIGHT:
            continue
        scale = task_scale(task)
        for trial in task.trials:
            try:
                dists = {k: json_to_distribution(v) for k, v in trial.distributions.items()}
            except (ValueError, KeyError, TypeError):
                continue
            params = {k: v for k, v in trial.params.items() if k in dists}
            if params:
                points.append(PriorPoint(params, dists, scale(trial.score), weight))
    return points
