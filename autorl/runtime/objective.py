"""One trial: sample a configuration, train it on each seed, report evaluations to Optuna."""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import optuna
from optuna.trial import FrozenTrial, TrialState

from autorl.errors import SpaceError, TrialFailure
from autorl.runtime.outage import retry_on_outage, unless_outage
from autorl.scoring import SeedPlan, SeedScore, aggregate, curve_area, race
from autorl.spaces import SearchSpace
from autorl.study import attrs
from autorl.study.accounting import counts_against_budget
from autorl.study.config import StudyConfig
from autorl.study.factory import stored_budget
from autorl.study.objectives import COSTS
from autorl.study.racing import race_state
from autorl.study.writes import one_transaction
from autorl.training import measure_cost, run_seed
from autorl.types import (
    EvalSettings,
    Evaluation,
    FailureReason,
    SeedResult,
    TrainConfig,
    TrainSpec,
)

if TYPE_CHECKING:
    from autorl.training.cost import PolicyCost

log = logging.getLogger(__name__)

TrainFn = Callable[[TrainSpec, Callable[[int, float], bool] | None], SeedResult]
CostFn = Callable[[TrainSpec], "PolicyCost"]


@dataclass(frozen=True)
class TrialContext:
    """What every trial of a study shares."""

    config: StudyConfig
    space: SearchSpace
    action_space_kind: str
    device: str
    train: TrainFn = run_seed  # unit tests pass a cheap fake
    random_return: float | None = None  # the task's, from its probed features (racing's floor)
    measure: CostFn = measure_cost  # the policy's cost (studies with a cost objective)


def _reporter(trial: optuna.Trial, offset: int):
    def report(step: int, value: float) -> bool:
        """Store the evaluation; False if the trial should stop (never during an outage)."""

        def store_and_ask() -> bool:
            trial.report(value, offset + step)
            return not trial.should_prune()

        return unless_outage(
            f"trial {trial.number}: evaluation at step {step}", store_and_ask, True
        )

    return report


def run_trial(
    trial: optuna.Trial,
    ctx: TrialContext,
    max_wall_s: float | None,
    seen: Sequence[FrozenTrial] | None = None,
) -> float:
    """Train the trial's configuration seed after seed; the objective is their aggregate.

    A racing study runs seed 0, then another seed while ``autorl.scoring.should_continue``
    says the configuration may still beat the incumbent, up to ``max_seeds``; otherwise every
    one of ``seeds`` seeds runs. ``max_wall_s`` limits each seed run. Each seed's result is
    stored as soon as it is known; seed runs a killed predecessor completed, or an earlier
    trial of the same configuration, are taken over, not trained again. Raises TrialFailure
    (infeasible, diverged, env_error, timeout ...) or optuna.TrialPruned (the first seed run
    pruned, or any of them without racing). ``seen``: the study's trials as the caller read
    them just before (read here when not given); the sampler proposes from them.
    """
    with one_transaction(trial, seen):  # 19 parameters for PPO: one commit, not 19
        params = ctx.space.sample(trial, ctx.action_space_kind)
        try:
            resolution = ctx.space.resolve(params, ctx.action_space_kind, ctx.config.timesteps)
        except SpaceError as exc:
            raise TrialFailure(FailureReason.INFEASIBLE, str(exc)) from exc
        trial.set_user_attr(attrs.CONFIG, resolution.config.to_dict())
        if resolution.repairs:
            trial.set_user_attr(attrs.REPAIRS, list(resolution.repairs))

    config = ctx.config
    if seen is None:
        completed = trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    else:
        completed = [t for t in seen if t.state == TrialState.COMPLETE]
    inherited = _taken_over(trial, resolution.config.to_dict(), completed)
    cost = _policy_cost(trial, ctx, resolution.config)
    entries: list[dict[str, object]] = []
    own_steps = 0

    def run_seed(k: int) -> SeedScore:
        nonlocal own_steps
        report = _reporter(trial, k * config.timesteps)
        if k < len(inherited):
            result, entry = _replay(inherited[k], report, config.timesteps, config.evaluation)
        else:
            spec = TrainSpec(
                task=config.task,
                config=resolution.config,
                timesteps=config.timesteps,
                seed=k,
                evaluation=config.evaluation.for_run(k),
                device=ctx.device,
                max_wall_s=max_wall_s,
            )
            reached = [0]  # the step of its last evaluation: what a failed run spent, at least

            def counted_report(step: int, value: float) -> bool:
                reached[0] = step
                return report(step, value)

            try:
                result = ctx.train(spec, counted_report)
            except TrialFailure:
                own_steps += reached[0]  # its compute counts, as a pruned run's does
                retry_on_outage(
                    f"trial {trial.number}: env steps",
                    lambda: _set_attrs(trial, {attrs.ENV_STEPS: own_steps}),
                )
                raise
            entry = result.to_dict()
            own_steps += result.env_steps
        entries.append(entry)
        _store_progress(trial, entries, own_steps)
        if result.pruned and (k == 0 or config.race is None):
            raise optuna.TrialPruned(
                f"pruned at seed {k} after {result.env_steps} steps (score {result.score:.2f})"
            )
        return SeedScore(
            result.score, result.pruned, curve_area([point.mean for point in result.curve])
        )

    # a re-race, or any last trial of the budget, is the study's last chance of an incumbent:
    # before there is one it runs all its seeds (no floor, no first-seed median)
    rerace = str(trial.user_attrs.get(attrs.SOURCE, "")).startswith(f"{attrs.RERACE}:")
    last_chance = rerace or (config.race is not None and _last_of_budget(trial))
    floor = None if last_chance else ctx.random_return
    plan = SeedPlan(
        max_seeds=config.max_seeds,
        min_seeds=config.min_seeds,
        method=config.aggregate,
        racing=config.race is not None,
        z=config.race.z if config.race else 1.0,
    )
    outcome = race(
        run_seed,
        lambda: race_state(
            trial.study, trial.number, floor, last_chance, config.cost_objective, cost
        ),
        plan,
        len(inherited),
    )
    scores = list(outcome.scores)
    final: dict[str, object] = {
        attrs.SCORE_STD: statistics.pstdev(scores) if len(scores) > 1 else 0.0,
        attrs.SELECTABLE: outcome.selectable,
    }
    if config.race is not None:
        final[attrs.RACE] = outcome.stop
    retry_on_outage(f"trial {trial.number}: results", lambda: _set_attrs(trial, final))
    return aggregate(scores, config.aggregate)


def _policy_cost(trial: optuna.Trial, ctx: TrialContext, config: TrainConfig) -> float | None:
    """In a study with a cost objective: measure the policy's cost before it trains, store
    it on the trial (the pruner and the race judge it against trials no larger), and return
    the objective's value; None in other studies. A configuration that cannot even be built
    fails as the seed run would have (an env that raises: ``env_error``)."""
    objective = ctx.config.cost_objective
    if objective is None:
        return None
    spec = TrainSpec(
        task=ctx.config.task,
        config=config,
        timesteps=ctx.config.timesteps,
        seed=0,
        evaluation=ctx.config.evaluation,
        device=ctx.device,
    )
    try:
        measured = ctx.measure(spec)
    except (TrialFailure, optuna.TrialPruned):
        raise
    except Exception as exc:
        raise TrialFailure(
            FailureReason.ENV_ERROR, f"building the policy to measure its cost failed: {exc}"
        ) from exc
    values = {attrs.POLICY_PARAMS: measured.params, attrs.LATENCY_US: measured.latency_us}
    retry_on_outage(f"trial {trial.number}: policy cost", lambda: _set_attrs(trial, values))
    return float(values[COSTS[objective]])


def _last_of_budget(trial: optuna.Trial) -> bool:
    """Whether the other trials that count (finished, or running) leave this one the last."""
    others = trial.study.get_trials(deepcopy=False)
    used = sum(
        1
        for t in others
        if t.number != trial.number and (counts_against_budget(t) or t.state == TrialState.RUNNING)
    )
    return used >= stored_budget(trial.study) - 1


def _store_progress(trial: optuna.Trial, entries: list[dict[str, object]], own_steps: int) -> None:
    store = {
        attrs.SEEDS: list(entries),
        attrs.SEED_SCORES: [e["score"] for e in entries],
        attrs.ENV_STEPS: own_steps,
    }
    retry_on_outage(f"trial {trial.number}: seed results", lambda: _set_attrs(trial, store))


def _taken_over(trial: optuna.Trial, config: dict, completed: Sequence[FrozenTrial]) -> list[dict]:
    """Seed runs this trial need not train: those the killed trial it re-runs completed, or,
    when the sampler proposed a configuration the study has already trained to the end, that
    trial's (same configuration, same seeds: training it again would only repeat them)."""
    source = _killed_predecessor(trial, config) or _same_configuration(completed, config)
    if source is None:
        return []
    out = []
    for entry in source.user_attrs.get(attrs.SEEDS) or []:
        if entry.get("pruned"):
            break
        out.append({**entry, "from_trial": entry.get("from_trial", source.number)})
    if out:
        log.info(
            "trial %d takes over %d seed run(s) of trial %d", trial.number, len(out), source.number
        )
    return out


def _killed_predecessor(trial: optuna.Trial, config: dict) -> FrozenTrial | None:
    number = trial.user_attrs.get(attrs.REQUEUED_FROM)
    if number is None:
        return None
    storage = trial.study._storage
    try:
        trial_id = storage.get_trial_id_from_study_id_trial_number(trial.study._study_id, number)
    except KeyError:
        return None
    killed = storage.get_trial(trial_id)
    return killed if killed.user_attrs.get(attrs.CONFIG) == config else None


def _same_configuration(completed: Sequence[FrozenTrial], config: dict) -> FrozenTrial | None:
    same = [t for t in completed if t.user_attrs.get(attrs.CONFIG) == config]
    return max(same, key=lambda t: len(t.user_attrs.get(attrs.SEEDS) or []), default=None)


def _replay(
    entry: dict,
    report: Callable[[int, float], bool],
    timesteps: int,
    evaluation: EvalSettings,
) -> tuple[SeedResult, dict]:
    """A taken-over seed run as a result, its evaluations reported again at their scheduled
    steps (the run is complete: a prune decision now changes nothing)."""
    curve = tuple(Evaluation(int(s), float(m), float(sd), ()) for s, m, sd in entry["curve"])
    scheduled = [*evaluation.steps_before_end(timesteps), timesteps]
    for step, point in zip(scheduled, curve, strict=False):
        report(step, point.mean)
    result = SeedResult(
        seed=int(entry["seed"]),
        score=float(entry["score"]),
        curve=curve,
        env_steps=int(entry["env_steps"]),
        wall_s=float(entry["wall_s"]),
    )
    return result, entry


def _set_attrs(trial: optuna.Trial, values: dict[str, object]) -> None:
    with one_transaction(trial):
        for key, value in values.items():
            trial.set_user_attr(key, value)
