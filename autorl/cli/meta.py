"""``autorl meta-eval``: measure warm starting, leave one task out, on a recorded table."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from autorl.cli.common import add_storage, storage_url
from autorl.cli.tune import add_search_options, tune, tune_request
from autorl.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    m = sub.add_parser("meta-eval", help="measure warm starting (leave-one-task-out)")
    msub = m.add_subparsers(dest="meta_command", required=True, metavar="ACTION")
    t = msub.add_parser("table", help="export a family's stored studies as a score table")
    t.add_argument("family_file", type=Path, help="the family YAML the studies were tuned from")
    t.add_argument("--algo", required=True)
    t.add_argument("--out", type=Path, required=True, help="table file (.jsonl)")
    add_storage(t)
    t.set_defaults(handler=cmd_table)

    r = msub.add_parser("run", help="warm vs cold search over a table, each task held out in turn")
    r.add_argument("table", type=Path)
    r.add_argument("--trials", type=int, default=20)
    r.add_argument("--reps", type=int, default=3)
    r.add_argument("--proposals", type=int, default=5, help="warm-start proposals per task")
    r.add_argument(
        "--history", type=Path, help="another table as the only history (e.g. another family)"
    )
    r.add_argument(
        "--history-tasks",
        type=int,
        help="warm arms learn from only this many of the other tasks, drawn per repetition "
        "(1: the second task of a family; default: all)",
    )
    r.add_argument(
        "--threshold",
        type=float,
        help="the return that counts as reached on every task, instead of the tasks' own "
        "(a stricter bar tells strategies apart)",
    )
    r.add_argument("--out", type=Path, required=True, help="folder for results.json, .md, .html")
    r.set_defaults(handler=cmd_run)

    live = msub.add_parser(
        "live", help="warm vs cold studies on one held-out task of a family, really trained"
    )
    live.add_argument("family_file", type=Path)
    live.add_argument("--task", required=True, help="the variant to hold out")
    live.add_argument("--reps", type=int, default=3)
    live.add_argument("--workdir", type=Path, required=True, help="one SQLite file per run")
    live.add_argument("--out", type=Path, required=True, help="folder for results.json, .md")
    add_search_options(live)  # --storage: where the family's other tasks are stored
    live.set_defaults(handler=cmd_live)


def cmd_table(args: argparse.Namespace) -> int:
    from autorl.families import load_family
    from autorl.knowledge.history import table_from_storage

    family = load_family(args.family_file)
    thresholds = {t.name: t.threshold for t in family.tasks}
    table = table_from_storage(storage_url(args), family.name, args.algo, thresholds)
    if not table.tasks:
        raise UsageError(
            f"no {args.algo} studies of family {family.name} in this storage: "
            f"run `autorl family tune {args.family_file} --algo {args.algo}` first"
        )
    table.to_jsonl(args.out)
    sizes = ", ".join(f"{name} {len(rows)}" for name, rows in table.rows.items())
    print(f"wrote {args.out}: {len(table.common_configs())} configurations on every task ({sizes})")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from autorl.meta.eval.report import run_and_report
    from autorl.meta.table import Table

    table = Table.from_jsonl(args.table)
    history = Table.from_jsonl(args.history) if args.history else None
    if args.history_tasks is not None and args.history_tasks < 1:
        raise UsageError(f"--history-tasks {args.history_tasks}: give at least 1")
    summary = run_and_report(
        table,
        args.trials,
        args.reps,
        args.proposals,
        history,
        args.out,
        args.history_tasks,
        args.threshold,
    )
    print(json.dumps(summary, indent=2))
    return 0


def cmd_live(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from autorl.families import load_family
    from autorl.meta.eval.evaluation import summarize
    from autorl.meta.eval.live import run_live

    family = load_family(args.family_file)
    chosen = [t for t in family.tasks if t.name == args.task]
    if not chosen:
        names = ", ".join(t.name for t in family.tasks)
        raise UsageError(f"--task {args.task}: not a variant of {family.name} ({names})")
    base = tune_request(args, chosen[0].spec)

    def run_study(url: str, name: str, warm: bool, seed: int) -> None:
        # only the family's stored history counts: not the shipped seed knowledge base
        settings = replace(base.warm_start, mode="auto" if warm else "none", seed_kb=False)
        sampler_seed = seed if args.sampler_seed is None else args.sampler_seed + seed
        request = replace(base, name=name, warm_start=settings, sampler_seed=sampler_seed)
        tune(request, args, url)

    results = run_live(
        storage_url(args),
        family.name,
        args.task,
        chosen[0].spec,
        chosen[0].threshold,
        args.reps,
        args.workdir,
        run_study,
    )
    summaries = summarize(results, args.trials)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"task": args.task, "trials": args.trials, "arms": [s.__dict__ for s in summaries]}
    (args.out / "results.json").write_text(
        json.dumps({**report, "runs": [r.__dict__ for r in results]}, indent=1, default=list)
    )
    print(json.dumps(report, indent=2))
    return 0
