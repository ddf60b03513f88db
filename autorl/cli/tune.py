"""``autorl tune`` and ``autorl resume``."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autorl.cli.common import add_storage, json_object, shown_url, storage_url
from autorl.scoring import AGGREGATES
from autorl.study.config import (
    DEFAULT_AGGREGATE,
    DEFAULT_FINAL_SEEDS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TEST_SEEDS,
)
from autorl.types import TaskSpec

if TYPE_CHECKING:
    from autorl.service import TuneRequest

# Optuna, torch and SB3 are imported inside the handlers: `autorl --help` stays instant.

log = logging.getLogger(__name__)


NORMALIZE = {
    "none": (False, False),
    "obs": (True, False),
    "reward": (False, True),
    "both": (True, True),
}


def add_search_options(p: argparse.ArgumentParser) -> None:
    """What a study searches and how (shared by ``tune`` and ``family tune``)."""
    p.add_argument("--algo", default="ppo", help="ppo, a2c, dqn, sac, td3 (default ppo)")
    p.add_argument("--trials", type=int, default=20, help="budget: finished trials in total")
    p.add_argument("--timesteps", type=int, default=50_000, help="env steps per training run")
    p.add_argument("--space", help="search space: a shipped name or a YAML path (default: algo)")
    p.add_argument(
        "--max-seeds",
        type=int,
        help="racing: seeds a promising configuration earns at most (default 3)",
    )
    p.add_argument(
        "--min-seeds",
        type=int,
        help="racing: seeds a configuration needs to be chosen as the best (default 3)",
    )
    p.add_argument(
        "--race-z",
        type=float,
        help="racing: optimism about a configuration's seeds not yet run, in seed-to-seed "
        "standard deviations (default 1)",
    )
    p.add_argument(
        "--seeds",
        type=int,
        help="no racing: exactly this many training seeds for every configuration",
    )
    p.add_argument(
        "--aggregate",
        choices=AGGREGATES,
        help=f"how a configuration's seed scores become its score (default {DEFAULT_AGGREGATE})",
    )
    p.add_argument("--evaluations", type=int, default=10, help="evaluations per training run")
    p.add_argument("--eval-episodes", type=int, default=5, help="episodes per evaluation")
    p.add_argument("--pruner", default="median", choices=["median", "hyperband", "none"])
    p.add_argument(
        "--objectives",
        default="return",
        help="return (default), or return,params / return,latency: a front of return against "
        "the policy's size or latency (autorl best --pareto); the default space then "
        "searches networks down to linear",
    )
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument(
        "--warm-start",
        default="auto",
        choices=["auto", "none"],
        help="auto (default): start from what similar stored tasks taught; none: cold start",
    )
    p.add_argument(
        "--warm-start-trials", type=int, default=5, help="how many first trials to propose (5)"
    )
    p.add_argument(
        "--warm-start-strategy",
        default="portfolio",
        choices=["portfolio", "nearest-best", "family-best"],
        help="how past tasks' configurations are chosen (default portfolio; family-best: the "
        "baseline without similarity, one ranking for every task)",
    )
    p.add_argument("--n-envs", type=int, help="fix the number of parallel envs")
    p.add_argument("--normalize", choices=sorted(NORMALIZE), help="fix VecNormalize")
    p.add_argument("--trial-timeout", type=float, help="seconds a trial may take at most")
    p.add_argument(
        "--timeout-factor",
        type=float,
        default=5.0,
        help="a trial may take this many times the median finished trial (default 5)",
    )
    p.add_argument(
        "--max-retries",
        type=int,
        default=DEFAULT_MAX_RETRIES,
        help="times a configuration whose process crashed is queued again (default 2)",
    )
    p.add_argument(
        "--memory-limit",
        type=int,
        metavar="MB",
        help="address space of each trial's process; past it the trial fails as oom",
    )
    p.add_argument(
        "--max-concurrent",
        type=int,
        metavar="N",
        help="trials of this study running at once, over all workers (default: no limit)",
    )
    p.add_argument(
        "--finalists",
        type=int,
        default=0,
        metavar="K",
        help="once the budget is reached, train the top K configurations on --final-seeds "
        "more seeds and publish the best over all their seeds (default 0: off)",
    )
    p.add_argument(
        "--final-seeds",
        type=int,
        default=DEFAULT_FINAL_SEEDS,
        metavar="V",
        help=f"seeds each finalist is trained on (default {DEFAULT_FINAL_SEEDS})",
    )
    p.add_argument(
        "--test-seeds",
        "--validation-seeds",
        dest="validation_seeds",
        type=int,
        default=DEFAULT_TEST_SEEDS,
        help="unseen seeds the chosen configuration is tested on; its published score "
        f"(default {DEFAULT_TEST_SEEDS})",
    )
    p.add_argument(
        "--test-episodes", "--validation-episodes", dest="validation_episodes", type=int, default=20
    )
    p.add_argument(
        "--threshold",
        type=float,
        help="the return that counts as solved (default: the env's registered threshold)",
    )
    p.add_argument("--sampler-seed", type=int, help="seed of the sampler (reproducible proposals)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--priority", type=int, help="workers serve studies of higher priority first")
    p.add_argument(
        "--no-run",
        action="store_true",
        help="create (or extend) the study and queue its first trials; `autorl worker` runs it",
    )
    add_storage(p)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tune", help="create or continue a study for an environment")
    p.add_argument("env", help="Gymnasium id, e.g. CartPole-v1 (or the id to register)")
    p.add_argument("--study", help="study name (default: ENV-ALGO, plus a hash of env options)")
    p.add_argument("--env-kwargs", help="JSON constructor kwargs, e.g. '{\"g\": 12.0}'")
    p.add_argument("--entry-point", help="package.module:Class to register as ENV for the run")
    p.add_argument(
        "--env-attrs", help="JSON attributes set on the unwrapped env, e.g. '{\"length\": 1.0}'"
    )
    p.add_argument("--family", help="task family label (warm starts prefer the same family)")
    p.add_argument(
        "--enqueue",
        type=Path,
        help="JSON list of parameter sets to try first (validated against the space)",
    )
    add_search_options(p)
    p.set_defaults(handler=cmd_tune)

    r = sub.add_parser(
        "resume", help="continue a stored study (after a stop, a crash or more budget)"
    )
    r.add_argument("study")
    r.add_argument("--trials", type=int, help="new total budget (default: the stored one)")
    r.add_argument("--jobs", type=int, default=1)
    r.add_argument("--device", default=None, help="override the study's device")
    r.add_argument("--no-progress", action="store_true")
    add_storage(r)
    r.set_defaults(handler=cmd_resume)


def task_from_args(args: argparse.Namespace) -> TaskSpec:
    """The task of ENV, --entry-point, --env-kwargs, --env-attrs and --family."""
    return TaskSpec(
        env_id=args.env,
        entry_point=args.entry_point,
        env_kwargs=json_object(args.env_kwargs, "--env-kwargs"),
        env_attrs=json_object(args.env_attrs, "--env-attrs"),
        family=args.family,
    )


def tune_request(
    args: argparse.Namespace, task: TaskSpec, name: str | None = None, queued: Sequence = ()
) -> TuneRequest:
    """The request the search options in ``args`` (``add_search_options``) make for ``task``."""
    from autorl.knowledge.warmstart import WarmStartSettings
    from autorl.service import TuneRequest

    fixed: dict[str, Any] = {}
    if args.n_envs is not None:
        fixed["n_envs"] = args.n_envs
    if args.normalize is not None:
        fixed["normalize"] = args.normalize
    return TuneRequest(
        task=task,
        algo=args.algo,
        trials=args.trials,
        timesteps=args.timesteps,
        space=args.space,
        fixed=fixed,
        seeds=args.seeds,
        max_seeds=args.max_seeds,
        min_seeds=args.min_seeds,
        race_z=args.race_z,
        aggregate=args.aggregate,
        evaluations=args.evaluations,
        eval_episodes=args.eval_episodes,
        pruner=args.pruner,
        finalists=args.finalists,
        final_seeds=args.final_seeds,
        validation_seeds=args.validation_seeds,
        validation_episodes=args.validation_episodes,
        trial_timeout_s=args.trial_timeout,
        timeout_factor=args.timeout_factor,
        max_retries=args.max_retries,
        memory_limit_mb=args.memory_limit,
        max_concurrent_trials=args.max_concurrent,
        device=args.device,
        sampler_seed=args.sampler_seed,
        threshold=args.threshold,
        warm_start=WarmStartSettings(
            args.warm_start, args.warm_start_trials, args.warm_start_strategy
        ),
        name=name,
        enqueue=tuple(queued),
        priority=0 if args.priority is None else args.priority,
        objectives=args.objectives,
    )


def read_enqueue(args: argparse.Namespace) -> list[dict]:
    from autorl.study.enqueue import read_configurations

    return read_configurations(args.enqueue) if args.enqueue else []


def cmd_tune(args: argparse.Namespace) -> int:
    request = tune_request(args, task_from_args(args), args.study, read_enqueue(args))
    return tune(request, args)


def tune(request: TuneRequest, args: argparse.Namespace, url: str | None = None) -> int:
    """Submit ``request`` to ``url`` (default: the storage in ``args``), then run it here
    with ``args``' --jobs and --device unless --no-run."""
    from autorl import service
    from autorl.runtime.tune import check_jobs

    check_jobs(args.jobs)
    url = url or storage_url(args)
    if not args.no_run:
        service.prepare_to_run(args.jobs)
    submitted = service.submit(request, url)
    name = submitted.study.study_name
    verb = "created" if submitted.created else "continuing"
    print(f"{verb} study {name} in {shown_url(url)} (task {submitted.task_key})")
    if submitted.warm_start:
        print(f"warm start: the first {len(submitted.warm_start)} trials come from similar tasks:")
        for proposal in submitted.warm_start:
            print(f"  {proposal.origin()}  {proposal.why}")
    if submitted.budget > request.trials:
        print(f"budget: {submitted.budget} trials (a budget can only grow)")
    if submitted.enqueued:
        print(f"queued {submitted.enqueued} configurations from {args.enqueue}")
    if args.no_run:
        print(f"study {name} is ready for `autorl worker --storage {shown_url(url)}`")
        return 0
    return _run(submitted, url, args.jobs, args.device, not args.no_progress)


def cmd_resume(args: argparse.Namespace) -> int:
    from autorl import service
    from autorl.runtime.tune import check_jobs

    check_jobs(args.jobs)
    url = storage_url(args)
    service.prepare_to_run(args.jobs)
    submitted = service.resume(args.study, url, args.trials)
    print(f"resuming study {args.study} in {shown_url(url)}")
    return _run(submitted, url, args.jobs, args.device, not args.no_progress)


def _run(submitted, url: str, jobs: int, device: str | None, progress: bool) -> int:
    from autorl import service
    from autorl.cli.progress import ProgressBar
    from autorl.cli.query import print_best

    bar = ProgressBar(submitted.study.study_name, enabled=progress)
    try:
        # no bar, no snapshots: each one reads every trial of the study
        validation = service.run(submitted, url, jobs, device, bar if progress else None)
    finally:
        bar.close()
    if validation is None and submitted.config.validation_seeds:
        log.info("budget not reached: the best configuration is not validated yet")
    print_best(submitted.study, url)
    return 0
