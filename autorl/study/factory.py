"""Create or load a study: storage, sampler and pruner from a StudyConfig."""

from __future__ import annotations

import logging
import warnings
from dataclasses import replace

import numpy as np
import optuna

from autorl.errors import StudyError
from autorl.study import attrs, record
from autorl.study.config import StudyConfig, check_budget, check_study_name, mismatches
from autorl.study.objectives import CostAwareMedianPruner
from autorl.study.racing import RacingPruner

log = logging.getLogger(__name__)


def startup_trials(budget: int) -> int:
    """Random trials before TPE models the results: 5 to 10, a third of the budget."""
    return max(5, min(10, budget // 3))


def worker_seed(config: StudyConfig, worker_index: int = 0, trials_so_far: int = 0) -> int | None:
    """The sampler seed of one worker's sampler, drawn from (``sampler_seed``, the worker's
    index, the study's trials so far) by NumPy's ``SeedSequence``: the same seed in every
    process, or in every run of a resumed study, would replay the same random start-up
    proposals, and a sum (seed + index) would give study ``--sampler-seed 1``'s first worker
    the stream of study 0's second: two "independent" studies proposing the same
    configurations."""
    if config.sampler_seed is None:
        return None
    entropy = [config.sampler_seed % 2**64, worker_index, trials_so_far]  # a negative seed too
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def tpe(seed: int | None, startup: int) -> optuna.samplers.TPESampler:
    """autorl's TPE, the one definition (the study's sampler, the fading prior's, the
    meta-evaluation's): multivariate over conditional groups, with constant liar so that
    parallel workers do not propose the same point."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            n_startup_trials=startup, multivariate=True, group=True, constant_liar=True, seed=seed
        )


def make_sampler(
    config: StudyConfig, budget: int, worker_index: int = 0, trials_so_far: int = 0
) -> optuna.samplers.BaseSampler:
    """``tpe`` seeded by ``worker_seed``, with ``startup_trials(budget)`` random ones."""
    return tpe(worker_seed(config, worker_index, trials_so_far), startup_trials(budget))


def make_pruner(config: StudyConfig) -> optuna.pruners.BasePruner:
    """Pruners work in env steps; a trial's steps run seed after seed (see attrs.py).

    A racing study prunes first seed runs with the chosen pruner and later ones against the
    first-seed median and the race (``autorl.study.racing.RacingPruner``). With a cost
    objective the median rule compares a trial with the trials no larger than it
    (``autorl.study.objectives.CostAwareMedianPruner``).
    """
    per_eval = max(1, config.timesteps // config.evaluation.n_evaluations)
    seeds = 1 if config.race else config.seeds
    objective = config.cost_objective
    if config.pruner == "median" and objective is not None:
        pruner: optuna.pruners.BasePruner = CostAwareMedianPruner(objective, config.timesteps // 3)
    elif config.pruner == "median":
        pruner = optuna.pruners.MedianPruner(
            n_startup_trials=5, n_warmup_steps=config.timesteps // 3, interval_steps=1
        )
    elif config.pruner == "hyperband":
        pruner = optuna.pruners.HyperbandPruner(
            min_resource=per_eval,
            max_resource=config.timesteps * seeds,
            reduction_factor=3,
        )
    else:
        pruner = optuna.pruners.NopPruner()
    if config.race is None:
        return pruner
    return RacingPruner(
        pruner,
        config.timesteps,
        later_seeds=config.pruner != "none",
        max_seeds=config.max_seeds,
        method=config.aggregate,
        z=config.race.z,
        objective=objective,
    )


def stored_config(study: optuna.Study) -> StudyConfig:
    data = study.user_attrs.get(attrs.STUDY_CONFIG)
    if data is None:
        raise StudyError(
            f"study {study.study_name!r} was not created by autorl (it has no "
            f"{attrs.STUDY_CONFIG}); it can be read with optuna but not resumed here"
        )
    return StudyConfig.from_dict(data)


def stored_budget(study: optuna.Study) -> int:
    return record.read(study).budget


def load_study(
    name: str, storage: optuna.storages.BaseStorage, worker_index: int = 0
) -> tuple[optuna.Study, StudyConfig]:
    """Load an autorl study with its sampler and pruner; StudyError if it does not exist."""
    names = [s.study_name for s in storage.get_all_studies()]
    if name not in names:
        hint = f" Studies here: {', '.join(sorted(names))}." if names else " There are none yet."
        raise StudyError(f"no study named {name!r} in this storage.{hint}")
    probe = optuna.load_study(study_name=name, storage=storage)
    config = stored_config(probe)
    budget = stored_budget(probe)
    trials_so_far = storage.get_n_trials(storage.get_study_id_from_name(name))
    study = optuna.load_study(
        study_name=name,
        storage=storage,
        sampler=make_sampler(config, budget, worker_index, trials_so_far),
        pruner=make_pruner(config),
    )
    return study, config


def create_or_continue(
    name: str,
    storage: optuna.storages.BaseStorage,
    config: StudyConfig,
    budget: int,
    keep_stored: tuple[str, ...] = (),
) -> tuple[optuna.Study, StudyConfig, bool]:
    """The named study with ``budget`` as its total (a continued study keeps a larger stored
    budget: a budget only grows); created if new.

    Returns (study, config in force, created). Continuing a study with different settings
    is refused, naming each difference: its trials would not be comparable. Fields named in
    ``keep_stored`` (settings the user did not give) take the stored study's values.
    """
    check_study_name(name)
    config.check()
    check_budget(budget)
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        direction="maximize",
        sampler=make_sampler(config, budget),
        pruner=make_pruner(config),
        load_if_exists=True,
    )
    existing = study.user_attrs.get(attrs.STUDY_CONFIG)
    created = existing is None
    if created:
        record.write_config(study, config.to_dict())
        log.info("created study %s", name)
    else:
        stored = StudyConfig.from_dict(existing)
        if keep_stored:
            config = replace(config, **{f: getattr(stored, f) for f in keep_stored})
        # no option sets it: a study made before per-run episodes keeps its one set
        episodes = stored.evaluation.per_run_episodes
        config = replace(config, evaluation=replace(config.evaluation, per_run_episodes=episodes))
        diffs = mismatches(stored, config)
        if diffs:
            raise StudyError(
                f"study {name!r} already exists with other settings ({'; '.join(diffs)}). "
                f"Continue it with `autorl resume {name}`, or pick a new name with --study."
            )
        config = stored.with_runtime(
            device=config.device,
            trial_timeout_s=config.trial_timeout_s,
            timeout_factor=config.timeout_factor,
            finalists=config.finalists,
            final_seeds=config.final_seeds,
            validation_seeds=config.validation_seeds,
            validation_episodes=config.validation_episodes,
            threshold=config.threshold if config.threshold is not None else stored.threshold,
        )
        record.write_config(study, config.to_dict())
        stored_total = stored_budget(study)
        if stored_total > budget:
            log.info(
                "study %s keeps its budget of %d trials (asked %d)", name, stored_total, budget
            )
            budget = stored_total
    record.write_budget(study, budget)
    return study, config, created


def set_budget(study: optuna.Study, budget: int) -> None:
    check_budget(budget)
    record.write_budget(study, budget)
