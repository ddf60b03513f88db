"""``autorl compress``: export, quantize and distill a saved model, and print what each
variant keeps."""

from __future__ import annotations

import argparse
from pathlib import Path

from autorl.cli.common import add_storage, print_table, storage_url
from autorl.errors import UsageError
from autorl.study.config import VALIDATION_EVAL_SEED

PRECISIONS = ("int8", "fp16")


def widths(text: str) -> tuple[int, ...]:
    """``16,16`` -> (16, 16); ``linear`` (or ``0``) -> () (no hidden layer)."""
    if text.strip().lower() in ("linear", "0", ""):
        return ()
    try:
        out = tuple(int(w) for w in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give hidden widths as 16,16 (or 'linear' for none)"
        ) from None
    if any(w < 1 or w > 4096 for w in out):
        raise argparse.ArgumentTypeError(f"{text!r}: widths must be between 1 and 4096")
    return out


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser(
        "compress",
        help="export a saved model as ONNX (fp32, fp16, int8) and distill it into smaller ones",
    )
    c.add_argument("model", type=Path, help="a model saved by autorl train (model.zip)")
    c.add_argument("--out", type=Path, required=True, help="folder for the exported policies")
    c.add_argument(
        "--distill",
        type=widths,
        action="append",
        default=[],
        metavar="WIDTHS",
        help="train a student with these hidden widths (16,16; 'linear'); repeat for several",
    )
    c.add_argument(
        "--distill-front",
        metavar="STUDY",
        help="also a student with the architecture of STUDY's smallest configuration whose "
        "score is within --within of the best's (a study tuned with --objectives)",
    )
    c.add_argument("--within", default="5%", metavar="TOL", help="with --distill-front")
    c.add_argument(
        "--quantize",
        choices=PRECISIONS,
        action="append",
        default=[],
        help="also write this precision of every network (repeatable)",
    )
    c.add_argument(
        "--onnx",
        action="store_true",
        help="write the fp32 ONNX of every network (the default without --quantize)",
    )
    c.add_argument("--episodes", type=int, default=20, help="evaluation episodes per variant")
    c.add_argument("--seed", type=int, default=VALIDATION_EVAL_SEED, help="first episode seed")
    c.add_argument("--distill-steps", type=int, default=10_000, help="states per round")
    c.add_argument("--distill-rounds", type=int, default=2, help="DAgger rounds after the first")
    add_storage(c)
    c.set_defaults(handler=cmd_compress, uses_optuna=False)


def front_widths(args: argparse.Namespace) -> tuple[int, ...]:
    """The actor's hidden widths of the configuration ``--distill-front STUDY --within TOL``
    picks (``autorl train --smallest-within``'s choice, by training scores alone)."""
    from autorl.cli.models import smallest_within_choice
    from autorl.spaces.transform import actor_widths
    from autorl.study.factory import load_study
    from autorl.study.queries import best_config
    from autorl.study.storage import open_storage

    url = storage_url(args)
    study, _ = load_study(args.distill_front, open_storage(url))
    _, number, _ = smallest_within_choice(study, url, args.within)
    config = best_config(study, url, number).config
    found = actor_widths(config["sb3_kwargs"].get("policy_kwargs"))
    if found is None:
        raise UsageError(
            f"trial {number} of {args.distill_front} uses SB3's default network; "
            "give --distill WIDTHS"
        )
    print(f"distilling into trial {number}'s actor: {','.join(map(str, found)) or 'linear'}")
    return found


def cmd_compress(args: argparse.Namespace) -> int:
    from autorl.compress.distill import DistillSettings
    from autorl.compress.pipeline import compress

    if not 1 <= args.episodes <= 10_000:
        raise UsageError(f"--episodes {args.episodes} must be between 1 and 10000")
    if not 100 <= args.distill_steps <= 10_000_000:
        raise UsageError(f"--distill-steps {args.distill_steps} must be between 100 and 10^7")
    if not 0 <= args.distill_rounds <= 20:
        raise UsageError(f"--distill-rounds {args.distill_rounds} must be between 0 and 20")
    students = list(args.distill)
    if args.distill_front is not None:
        students.append(front_widths(args))
    precisions = (["fp32"] if args.onnx or not args.quantize else []) + list(
        dict.fromkeys(args.quantize)
    )
    report = compress(
        args.model,
        args.out,
        distill_widths=students,
        precisions=precisions,
        episodes=args.episodes,
        seed=args.seed,
        distill_settings=DistillSettings(steps=args.distill_steps, rounds=args.distill_rounds),
    )
    rows = [
        (
            v["name"],
            f"{v['parameters']:,}",
            f"{v['bytes']:,}",
            f"{v['latency_us']:.1f}",
            f"{v['mean_return']:.1f} ± {v['std_return']:.1f}",
            "" if v["kept"] is None else f"{100 * v['kept']:.1f}%",
            "" if v["agreement"] is None else f"{v['agreement']:.4f}",
        )
        for v in report["variants"]
    ]
    header = ("variant", "parameters", "bytes", "µs/action", "return", "kept", "agreement")
    print_table(header, rows)
    print(
        f"{report['env_id']}: {report['episodes']['count']} episodes, seeds "
        f"{report['episodes']['seeds']}; random play {report['random_return']:.1f}; kept = "
        "(return - random) / (teacher - random); agreement with the teacher's actions on "
        f"{report['check']['states'] // 2} of the teacher's states (agreement_sampled in the "
        f"JSON: as many samples of the observation space). Written to {args.out}/compress.json"
    )
    return 0
