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
    from autorl.study.factory import load_study
    from autorl.study.queries import best_config
    from autorl.study.storage import open_storage
    from autorl.training.artifacts import save_trained
    from autorl.training.device import resolve_device
    from autorl.training.trainer import train_model

    url = storage_url(args)
    study, config = load_study(args.study, open_storage(url))
    chosen = best_config(study, url, args.trial)
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
    return 0


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
