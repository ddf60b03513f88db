"""The final choice among a study's top configurations, on seeds no other choice used.

Racing publishes the best aggregate over ``min_seeds`` training seeds; when several
configurations are that good, the maximum of their aggregates is still optimistic, and three
seeds cannot tell a configuration that learns on every seed from one that learns on two in
three (MountainCar's goal, CartPole's 500 cap). With ``finalists`` K >= 2, once the budget
is reached racing's incumbent and the K - 1 best other configurations (by their score over
however many seeds racing gave them: ``finalists_of``) are trained on ``final_seeds`` more seeds
(``FINAL_TRAIN_SEED``, ...; episodes from ``FINAL_EVAL_SEED``, each seed its own), the same
seeds for every finalist, and the one with the best aggregate over all its seeds (training
and final) is published. A finalist with a failed final run (diverged, crashed) ranks below
every finalist without one. The final test (``autorl.runtime.validation``) then scores the
chosen configuration on the test seeds, which this choice never saw.

The record (study attr ``autorl.final``) keeps each finalist's training and final seed
scores, the seeds and episodes, and the env steps of every final run the study made; a study
resumed with more budget runs only the finalists it has not run yet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from autorl.errors import TrialFailure
from autorl.runtime.isolation import IsolatedTrain
from autorl.scoring import aggregate
from autorl.study import attrs
from autorl.study.accounting import configuration_key, is_selectable, selection_key
from autorl.study.config import FINAL_EVAL_SEED, FINAL_TRAIN_SEED, StudyConfig
from autorl.study.record import read as read_record
from autorl.study.record import write_final
from autorl.training import run_seed
from autorl.types import EvalSettings, SeedResult, TrainConfig, TrainSpec

log = logging.getLogger(__name__)

RunAll = Callable[[Callable[[TrainSpec], "SeedResult | str"], list[TrainSpec]], Iterable]


def isolated_run(spec: TrainSpec) -> SeedResult | str:
    """One run's result, or why it failed (module level: a process pool can run it). It
    trains in a child process, as tuning does: a crash is that run's failure."""
    try:
        return IsolatedTrain(run_seed)(spec)
    except TrialFailure as exc:
        return f"seed {spec.seed}: {exc.reason.value}: {exc.message}"


def seed_specs(
    trial: FrozenTrial,
    config: StudyConfig,
    device: str,
    first_seed: int,
    n_seeds: int,
    evaluation: EvalSettings,
) -> list[TrainSpec]:
    """Runs of ``trial``'s configuration on seeds ``first_seed`` ..., run j on its own
    episodes (``evaluation.for_run(j)``)."""
    train_config = TrainConfig.from_dict(trial.user_attrs[attrs.CONFIG])
    return [
        TrainSpec(
            task=config.task,
            config=train_config,
            timesteps=config.timesteps,
            seed=first_seed + j,
            evaluation=evaluation.for_run(j),
            device=device,
        )
        for j in range(n_seeds)
    ]


def finalists_of(trials: Sequence[FrozenTrial], k: int) -> list[FrozenTrial]:
    """Racing's incumbent (the best selectable trial), then the ``k - 1`` best other distinct
    configurations by their score over the seeds they completed, however many: best first.

    A configuration racing stopped after one seed just below the incumbent is a candidate as
    much as one raced to the end far below it (on a task whose runs find the goal or do not,
    two 3-seed trials that never found it made poor finalists beside 1-seed ones that did).
    """
    incumbent = max((t for t in trials if is_selectable(t)), key=selection_key, default=None)
    if incumbent is None:
        return []
    scored = [
        t
        for t in trials
        if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None and t.params
    ]
    chosen, seen = [incumbent], {configuration_key(incumbent.params)}
    for trial in sorted(scored, key=selection_key, reverse=True):
        if len(chosen) == k:
            break
        key = configuration_key(trial.params)
        if key not in seen:
            seen.add(key)
            chosen.append(trial)
    return chosen


def _completed_scores(trial: FrozenTrial) -> list[float]:
    """The scores of the trial's seed runs that trained to the end (a later seed run racing
    stopped early scored a shorter training)."""
    runs = trial.user_attrs.get(attrs.SEEDS)
    if runs is None:  # stored before per-seed runs were kept
        return [float(s) for s in trial.user_attrs.get(attrs.SEED_SCORES, [])]
    return [float(run["score"]) for run in runs if not run.get("pruned")]


def final_evaluation(config: StudyConfig) -> EvalSettings:
    """How the final runs are scored: the test's episode count, from FINAL_EVAL_SEED, every
    run on its own episodes."""
    return EvalSettings(
        n_evaluations=1,
        episodes=config.validation_episodes,
        seed=FINAL_EVAL_SEED,
        per_run_episodes=True,
    )


def chosen_finalist(entries: Sequence[dict[str, Any]], method: str) -> dict[str, Any]:
    """Score each finalist (``score``: ``method`` over its ``train_scores`` and the final
    scores that did not fail) and return the one published: no failed final run first, then
    the best score, then the better-ranked trial (the earlier entry)."""
    for entry in entries:
        ok = [s for s in entry["final_scores"] if s is not None]
        entry["score"] = aggregate(list(entry["train_scores"]) + ok, method)

    def key(pair: tuple[int, dict[str, Any]]) -> tuple:
        order, entry = pair
        clean = None not in entry["final_scores"]
        return (clean, entry["score"], -order)

    return max(enumerate(entries), key=key)[1]


def choose_final(
    study: optuna.Study, config: StudyConfig, device: str, run_all: RunAll = map
) -> dict[str, Any] | None:
    """Run the final choice if the study asks for one and has two candidates; the stored
    record (None: no choice to make). ``run_all`` maps the runs (a pool's map: parallel)."""
    if config.finalists < 2:
        return None
    top = finalists_of(study.get_trials(deepcopy=False), config.finalists)
    if len(top) < 2:
        return None
    evaluation = final_evaluation(config)
    seeds = [FINAL_TRAIN_SEED + j for j in range(config.final_seeds)]
    stored = read_record(study).final or {}
    same_runs = stored.get("seeds") == seeds and stored.get("episodes") == evaluation.episodes
    previous = {c["trial"]: c for c in stored.get("finalists", [])} if same_runs else {}
    to_run = [t for t in top if t.number not in previous]
    specs = [
        s for t in to_run for s in seed_specs(t, config, device, seeds[0], len(seeds), evaluation)
    ]
    outcomes = list(run_all(isolated_run, specs)) if specs else []
    entries = []
    for trial in top:
        if trial.number in previous:
            entries.append(previous[trial.number])
            continue
        runs, outcomes = outcomes[: len(seeds)], outcomes[len(seeds) :]
        entries.append(
            {
                "trial": trial.number,
                "selection_score": trial.value,
                "train_scores": _completed_scores(trial),
                "final_scores": [r.score if isinstance(r, SeedResult) else None for r in runs],
                "failures": [r for r in runs if isinstance(r, str)],
                "env_steps": sum(r.env_steps for r in runs if isinstance(r, SeedResult)),
                "wall_s": round(sum(r.wall_s for r in runs if isinstance(r, SeedResult)), 1),
            }
        )
    chosen = chosen_finalist(entries, config.aggregate)
    if not specs and stored.get("chosen") == chosen["trial"] and stored["finalists"] == entries:
        return stored  # made already, with these finalists
    record = {
        "chosen": chosen["trial"],
        "aggregate": config.aggregate,
        "finalists": entries,
        "seeds": seeds,
        "eval_seed": evaluation.seed,
        "episodes": evaluation.episodes,
        "eval_seed_step": evaluation.run_seed_step,
        "timesteps": config.timesteps,
        # every final run this study made (earlier choices' too: compute spent)
        "env_steps": int(stored.get("env_steps", 0))
        + sum(int(e["env_steps"]) for e in entries if e["trial"] not in previous),
    }
    write_final(study, record)
    log.info(
        "final choice among trials %s on seeds %s: trial %d (%.2f)",
        [e["trial"] for e in entries],
        seeds,
        chosen["trial"],
        chosen["score"],
    )
    return record
