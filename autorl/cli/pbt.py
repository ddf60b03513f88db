"""``autorl pbt``: population-based training; ``best --schedule`` and ``train`` of a run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from autorl.cli.common import add_storage, print_table, shown_url, storage_url
from autorl.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pbt",
        help="population-based training: hyperparameters that change while the agents train",
    )
    p.add_argument("env", nargs="?", help="Gymnasium id (or give --resume NAME)")
    p.add_argument("--algo", default="ppo")
    p.add_argument("--population", type=int, default=8, help="members (default 8)")
    p.add_argument("--timesteps", type=int, default=100_000, help="env steps per member")
    p.add_argument(
        "--interval", type=int, default=10_000, help="env steps between exploit/explore steps"
    )
    p.add_argument(
        "--quantile", type=float, default=0.25, help="bottom share that copies the top one"
    )
    p.add_argument(
        "--explore",
        choices=("perturb", "pb2"),
        default="perturb",
        help="perturb (x0.8 / x1.2, resample 25%%) or pb2 (a GP bandit picks the values)",
    )
    p.add_argument(
        "--episodes", type=int, default=10, help="evaluation episodes per member and interval"
    )
    p.add_argument("--seed", type=int, default=0, help="seeds the population and its draws")
    p.add_argument("--space", help="search space (name or YAML); its `mutable: true` params move")
    p.add_argument("--name", help="run name (default: ENV-ALGO-pbt)")
    p.add_argument("--entry-point", help="package.module:Class to register as ENV for the run")
    p.add_argument("--env-kwargs", help="JSON constructor kwargs")
    p.add_argument("--env-attrs", help="JSON attributes set on the unwrapped env")
    p.add_argument("--family", help="task family label (the task registry, warm starts)")
    p.add_argument(
        "--warm-start",
        choices=("auto", "none"),
        default="auto",
        help="auto: up to half the first population from similar past tasks' best",
    )
    p.add_argument("--resume", metavar="NAME", help="continue (or join as a worker) a stored run")
    p.add_argument("--jobs", type=int, default=1, help="workers on this machine")
    p.add_argument("--device", default="auto")
    add_storage(p)
    p.set_defaults(handler=cmd_pbt)


def cmd_pbt(args: argparse.Namespace) -> int:
    from autorl import service
    from autorl.cli.tune import task_from_args
    from autorl.knowledge.warmstart import WarmStartSettings
    from autorl.pbt.records import PbtSettings
    from autorl.runtime.tune import check_jobs

    url = storage_url(args)
    check_jobs(args.jobs)
    if args.resume:
        if args.env:
            raise UsageError("give an environment to start a run, or --resume NAME, not both")
        name = args.resume
    elif not args.env:
        raise UsageError("give an environment id (e.g. CartPole-v1) or --resume NAME")
    else:
        settings = PbtSettings(
            population=args.population,
            timesteps=args.timesteps,
            interval=args.interval,
            quantile=args.quantile,
            explore=args.explore,
            episodes=args.episodes,
            seed=args.seed,
        )
        task = task_from_args(args)
        request = service.PbtRequest(
            task, settings, args.algo, args.space, args.name, WarmStartSettings(args.warm_start)
        )
        run = service.start_pbt(request, url)
        name = run.name
        print(
            f"created run {name} in {shown_url(url)}: {settings.population} members x "
            f"{settings.generations} segments of {settings.interval} steps"
        )
        from autorl.db.population import warm_start_origins

        for member, origin in enumerate(warm_start_origins(url, run.id)):
            print(f"  member {member} warm-started from {origin}")
    run, outcome = service.run_pbt(name, url, args.jobs, args.device)
    if run.state != "done":
        print(f"run {name}: {run.state}{': ' + run.message if run.message else ''}")
        return 1 if run.state == "failed" else 0
    if outcome is not None:
        print(
            f"winner: member {outcome['member']}, "
            f"last evaluation {outcome['selection_score']:.2f}; "
            f"test {outcome['test_score']:.2f} on {outcome['test_episodes']} episodes seeded "
            f"from {outcome['test_seed']} (no choice used them)"
        )
    print(f"schedule: autorl best {name} --schedule; replay: autorl train {name} --out model.zip")
    return 0


def print_schedule(name: str, url: str, fmt: str | None) -> int:
    from autorl import service

    schedule = service.pbt_schedule(name, url)
    if fmt == "json":
        print(json.dumps(schedule, indent=2))
        return 0
    if fmt is not None:
        raise UsageError(f"--schedule prints a table or, with --format json, JSON: not {fmt}")
    moving = sorted({k for s in schedule for k in s["params"]} - _constant(schedule))
    header = ("steps", "member", "copied", "score", *moving)
    rows = [
        (
            f"{s['start_step']}-{s['until_step']}",
            s["member"],
            "-" if s["copied_from"] is None else s["copied_from"],
            "-" if s["score"] is None else f"{s['score']:.2f}",
            *(_short(s["params"].get(k)) for k in moving),
        )
        for s in schedule
    ]
    print(f"schedule of {name}'s winner (the parameters that changed; --format json: all)")
    print_table(header, rows)
    return 0


def _constant(schedule: list[dict[str, Any]]) -> set[str]:
    first = schedule[0]["params"]
    return {k for k, v in first.items() if all(s["params"].get(k) == v for s in schedule)}


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def train_replay(args: argparse.Namespace, url: str, run: Any) -> int:
    """``autorl train RUN``: the winner's schedule replayed from scratch on ``--seed``."""
    from autorl import service
    from autorl.runtime.population import segment_config
    from autorl.training.artifacts import save_trained
    from autorl.training.device import resolve_device, set_threads
    from autorl.training.segments import train_schedule

    schedule = service.pbt_schedule(run.name, url)
    timesteps = args.timesteps or run.settings.timesteps
    scale = timesteps / run.settings.timesteps  # a longer replay stretches the schedule
    starts = [round(s["start_step"] * scale) for s in schedule]
    configs = [segment_config(run, s["params"]) for s in schedule]
    device = resolve_device(args.device, configs[0].policy)
    set_threads(1)  # an RL update's tensors are too small to split (training_threads)
    model, venv = train_schedule(run.task, starts, configs, timesteps, args.seed, device)
    try:
        paths = save_trained(
            model,
            venv,
            Path(args.out),
            run.task,
            configs[-1],
            extra={"pbt_run": run.name, "schedule_starts": starts, "seed": args.seed},
        )
    finally:
        venv.close()
    print(
        f"replayed {run.name}'s winning schedule ({len(starts)} segments) for {timesteps} "
        f"steps from scratch (seed {args.seed})"
    )
    for p in paths:
        print(f"wrote {p}")
    return 0
