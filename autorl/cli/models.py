"""``autorl train`` and ``autorl evaluate``: a configuration becomes a saved SB3 model."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from autorl.cli.common import add_storage, json_object, storage_url
from autorl.errors import UsageError
from autorl.study.config import VALIDATION_EVAL_SEED
from autorl.types import EvalSettings, TaskSpec, TrainConfig, TrainSpec


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("train", help="train the best (or a chosen) configuration and save it")
    t.add_argument("study")
    t.add_argument("--trial", type=int, help="trial number (default: the best)")
    t.add_argument(
        "--smallest-within",
        metavar="TOL",
        help="the cheapest configuration of the front (--objectives studies) whose score is "
        "within TOL (e.g. 5%%) of the best's, as a share of the range from the random "
        "policy's return to the best; then both are tested on the study's test seeds",
    )
    t.add_argument("--timesteps", type=int, help="default: the study's timesteps")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto")
    t.add_argument("--out", type=Path, required=True, help="model path, e.g. model.zip")
    add_storage(t)
    t.set_defaults(handler=cmd_train)

    e = sub.add_parser(
        "evaluate", help="evaluate a saved model (or an exported .onnx policy): mean ± std return"
    )
    e.add_argument("model", type=Path)
    e.add_argument("--env", help="evaluate on this env id instead of the one it was trained on")
    e.add_argument("--env-kwargs", help="JSON constructor kwargs (with --env)")
    e.add_argument("--env-attrs", help="JSON env attributes (with --env)")
    e.add_argument("--episodes", type=int, default=20)
    e.add_argument("--seed", type=int, default=VALIDATION_EVAL_SEED, help="first episode seed")
    e.add_argument("--stochastic", action="store_true", help="sample actions")
    e.add_argument("--device", default="cpu")
    e.set_defaults(handler=cmd_evaluate)


def cmd_train(args: argparse.Namespace) -> int:
    from autorl.cli.pbt import train_replay
    from autorl.db import population
    from autorl.study.factory import load_study
    from autorl.study.queries import best_config
    from autorl.study.storage import open_storage
    from autorl.training.artifacts import save_trained
    from autorl.training.device import resolve_device
    from autorl.training.trainer import train_model

    url = storage_url(args)
    run = population.get_run(url, args.study)
    if run is not None:  # a population-based training run: replay its winner's schedule
        if args.trial is not None or args.smallest_within is not None:
            raise UsageError(f"{args.study} is a population-based training run: no --trial")
        return train_replay(args, url, run)
    study, config = load_study(args.study, open_storage(url))
    if args.smallest_within is not None and args.trial is not None:
        raise UsageError("give --trial N or --smallest-within TOL, not both")
    number, front = args.trial, None
    if args.smallest_within is not None:
        front, number, fraction = smallest_within_choice(study, url, args.smallest_within)
    chosen = best_config(study, url, number)
    train_config = TrainConfig.from_dict(chosen.config)
    timesteps = args.timesteps or config.timesteps
    if timesteps < 1:
        raise UsageError(f"--timesteps {timesteps} must be positive")
    spec = TrainSpec(
        task=config.task,
        config=train_config,
        timesteps=timesteps,
        seed=args.seed,
        evaluation=EvalSettings(n_evaluations=1),
        device=resolve_device(args.device, train_config.policy),
    )
    model, venv = train_model(spec)
    try:
        paths = save_trained(
            model,
            venv,
            args.out,
            config.task,
            train_config,
            extra={
                "study": args.study,
                "trial": chosen.trial,
                "seed": args.seed,
                "timesteps": timesteps,
            },
        )
    finally:
        venv.close()
    print(f"trained trial {chosen.trial} of {args.study} for {timesteps} steps (seed {args.seed})")
    for p in paths:
        print(f"wrote {p}")
    if front is not None:
        _test_against_best(study, config, front, chosen.trial, fraction, spec.device)
    return 0


def smallest_within_choice(study, url: str, tolerance: str):
    """The front and the trial ``--smallest-within`` picks from it, by training scores alone
    (no test seed takes part in the choice)."""
    from autorl import db
    from autorl.study.objectives import parse_tolerance
    from autorl.study.queries import pareto

    fraction = parse_tolerance(tolerance)
    front = pareto(study, db.study_random_return(url, study.study_name))
    if not front.points:
        raise UsageError(f"study {study.study_name!r} has no selectable trial with a cost yet")
    within = [p for p in front.points if p.kept is None or p.kept >= 1 - fraction]
    pick, best = within[0], front.points[-1]
    print(
        f"smallest within {fraction:.0%}: trial {pick.trial} ({pick.params:,} parameters, "
        f"score {pick.score:.1f}) against the best, trial {best.trial} ({best.params:,}, "
        f"{best.score:.1f}); scores over training seeds, the range from the "
        f"{front.floor_from}'s return {front.floor:.1f}"
    )
    return front, pick.trial, fraction


def _test_against_best(study, config, front, number: int, fraction: float, device: str) -> None:
    """Test the chosen trial (and the best, unless its test is stored) on the study's test
    seeds, and say whether the chosen one's test return is within ``fraction`` of the best's."""
    from autorl.runtime.validation import stored_validation, test_trial
    from autorl.study.objectives import kept

    best = front.points[-1].trial
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    record = stored_validation(study)
    tests = {best: record} if record and record.get("trial") == best else {}
    for n in dict.fromkeys((number, best)):
        if n not in tests:
            tests[n] = test_trial(trials[n], config, device)
    for n, test in tests.items():
        seeds = ", ".join("failed" if s is None else f"{s:.1f}" for s in test["scores"])
        mean = "-" if test["mean"] is None else f"{test['mean']:.1f}"
        print(
            f"trial {n} on test seeds {test['train_seeds']} ({test['episodes']} episodes "
            f"each, no choice used them): mean {mean}; per seed {seeds}"
        )
    ours, theirs = tests[number]["mean"], tests[best]["mean"]
    share = None if ours is None or theirs is None else kept(ours, theirs, front.floor)
    if share is not None:
        verdict = "within" if share >= 1 - fraction else "NOT within"
        print(
            f"test return of trial {number} keeps {share:.1%} of trial {best}'s above the "
            f"{front.floor_from}'s: {verdict} {fraction:.0%}"
        )


def _other_task(args: argparse.Namespace, task: TaskSpec) -> TaskSpec:
    """The task of ``--env`` (and its kwargs and attrs), or the model's own."""
    if not args.env:
        return task
    return TaskSpec(
        env_id=args.env,
        entry_point=task.entry_point if args.env == task.env_id else None,
        env_kwargs=json_object(args.env_kwargs, "--env-kwargs"),
        env_attrs=json_object(args.env_attrs, "--env-attrs"),
    )


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.episodes < 1 or args.episodes > 100_000:
        raise UsageError(f"--episodes {args.episodes} must be between 1 and 100000")
    if args.model.suffix == ".onnx":  # an exported policy: onnxruntime only, no torch
        import statistics

        from autorl.compress.onnx_policy import OnnxPolicy, run_episodes

        if args.stochastic:
            raise UsageError("an exported ONNX policy is deterministic: drop --stochastic")
        policy = OnnxPolicy.load(args.model)
        policy.task = _other_task(args, policy.task)
        returns = run_episodes(policy, args.episodes, args.seed)
        env_id, mean, std = (
            policy.task.env_id,
            statistics.fmean(returns),
            statistics.pstdev(returns),
        )
    else:
        from autorl.training.artifacts import load_trained

        loaded = load_trained(args.model, device=args.device)
        loaded = dataclasses.replace(loaded, task=_other_task(args, loaded.task))
        result = loaded.evaluate(args.episodes, args.seed, deterministic=not args.stochastic)
        env_id, mean, std, returns = loaded.task.env_id, result.mean, result.std, result.returns
    print(
        f"{env_id}: {mean:.2f} ± {std:.2f} mean return over {len(returns)} episodes "
        f"(seeds {args.seed}..{args.seed + args.episodes - 1})"
    )
    return 0
