"""TPE with a fading prior: steered by past tasks at first, plain TPE once it has faded."""

from __future__ import annotations

import math
from dataclasses import replace

import optuna
from optuna.distributions import FloatDistribution

from autorl.knowledge.prior import (
    MAX_PRIOR_POINTS,
    PriorPoint,
    PriorTPESampler,
    bounded_prior,
)
from autorl.meta.normalize import Scale

LR = FloatDistribution(1e-6, 1.0, log=True)


def prior_around(log_lr: float, n: int = 30) -> list[PriorPoint]:
    """Past trials whose normalised score peaks where log10(lr) == ``log_lr``."""
    points = []
    for i in range(n):
        x = -6 + 6 * i / (n - 1)
        points.append(PriorPoint({"lr": 10**x}, {"lr": LR}, 1 - abs(x - log_lr) / 6))
    return points


def proposals(sampler, n: int, objective=None) -> list[float]:
    study = optuna.create_study(direction="maximize", sampler=sampler)
    out = []
    for _ in range(n):
        trial = study.ask()
        lr = trial.suggest_float("lr", 1e-6, 1.0, log=True)
        out.append(math.log10(lr))
        study.tell(trial, objective(lr) if objective else 0.0)
    return out


def test_the_first_proposals_follow_the_prior():
    scale = lambda scores: Scale(-1.0, max(scores, default=0.0))  # noqa: E731
    warm = proposals(PriorTPESampler(prior_around(-3.0), scale, seed=0), 5)
    cold = proposals(optuna.samplers.TPESampler(n_startup_trials=5, seed=0), 5)
    assert sum(abs(x + 3) for x in warm) < sum(abs(x + 3) for x in cold)
    assert all(abs(x + 3) < 1.5 for x in warm)


def test_the_prior_fades_with_the_study_s_own_trials():
    sampler = PriorTPESampler(prior_around(-3.0), lambda s: Scale(0, 1), fade_trials=10)
    assert sampler.prior_share(0) == 30
    assert sampler.prior_share(5) == 15
    assert sampler.prior_share(10) == sampler.prior_share(50) == 0
    # after it faded the sampler still proposes (plain TPE on the study's own trials)
    assert len(proposals(sampler, 12, objective=lambda lr: -abs(math.log10(lr) + 1))) == 12


def test_a_large_knowledge_base_is_bounded_keeping_the_best_and_the_most_similar_tasks():
    similar = [replace(p, weight=1.0) for p in prior_around(-3.0, n=5000)]
    distant = [replace(p, weight=0.3) for p in prior_around(-5.0, n=95_000)]
    kept = bounded_prior(distant + similar)
    assert len(kept) == MAX_PRIOR_POINTS
    assert all(p.weight == 1.0 for p in kept)  # the similar task fills it first
    assert max(p.value for p in kept) == max(p.value for p in similar)
    values = sorted(p.value for p in kept)
    assert values[0] == min(p.value for p in similar)  # the spread reaches the worst too
    small = bounded_prior(prior_around(-3.0, n=30))
    assert len(small) == 30  # a small prior is kept whole
    sampler = PriorTPESampler(distant + similar, lambda s: Scale(0, 1), seed=0)
    assert sampler.prior_share(0) == MAX_PRIOR_POINTS
    assert all(abs(x + 3) < 1.5 for x in proposals(sampler, 3))
