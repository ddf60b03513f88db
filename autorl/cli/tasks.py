"""``autorl tasks`` (the task registry) and ``autorl family tune FAMILY.yaml``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from autorl.cli.common import add_allow_entry_points, add_storage, allowed_entry_points, storage_url
from autorl.cli.tune import add_search_options, read_enqueue, tune, tune_request
from autorl.errors import UsageError
from autorl.types import disallowed_import


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("tasks", help="list stored tasks: environment, families, features")
    t.add_argument("--family", help="only the tasks of this family")
    t.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    add_storage(t)
    t.set_defaults(handler=cmd_tasks)

    f = sub.add_parser("family", help="task families: tune every task of a family file")
    fsub = f.add_subparsers(dest="family_command", required=True, metavar="ACTION")
    ft = fsub.add_parser(
        "tune", help="tune each task of a family file in turn, each warm-started by the ones before"
    )
    ft.add_argument(
        "file", help="a family YAML, or a shipped family's name (autorl/families/files/)"
    )
    ft.add_argument("--only", help="comma-separated variant names to tune (default: all)")
    ft.add_argument(
        "--enqueue",
        type=Path,
        help="JSON list of parameter sets every task tries first (e.g. a fixed pool)",
    )
    add_allow_entry_points(ft, "the family's")
    add_search_options(ft)
    ft.set_defaults(handler=cmd_family_tune)


def _env_text(spec) -> str:
    parts = [spec.env_id]
    if spec.entry_point:
        parts.append(f"entry_point={spec.entry_point}")
    parts += [f"{k}={v}" for k, v in sorted({**spec.env_kwargs, **spec.env_attrs}.items())]
    return " ".join(parts)


def _actions_text(action) -> str:
    if action.kind == "discrete":
        return f"{action.n} discrete"
    return f"{action.kind} {'x'.join(map(str, action.shape))}"


def cmd_tasks(args: argparse.Namespace) -> int:
    from autorl import db

    url = storage_url(args)
    records = db.list_tasks(url, family=args.family)
    if args.json:
        for r in records:
            print(
                json.dumps(
                    {
                        "key": r.key,
                        "spec": r.spec.to_dict(),
                        "families": list(r.families),
                        "features": r.features.to_dict() if r.features else None,
                    }
                )
            )
        return 0
    if not records:
        where = f" in family {args.family}" if args.family else ""
        print(f"no tasks{where} yet: `autorl tune ENV --family NAME` registers one")
        return 0
    print(
        f"{'task':<9} {'environment':<36} {'families':<20} {'random return':>15} "
        f"{'obs':>6} {'actions':<12}"
    )
    for r in records:
        f = r.features
        random_return = f"{f.random_return_mean:.1f}±{f.random_return_std:.1f}" if f else "-"
        obs = "x".join(map(str, f.observation.shape)) if f else "-"
        actions = _actions_text(f.action) if f else "-"
        print(
            f"{r.key:<9} {_env_text(r.spec)[:36]:<36} {','.join(r.families)[:20]:<20} "
            f"{random_return:>15} {obs:>6} {actions:<12}"
        )
    return 0


def cmd_family_tune(args: argparse.Namespace) -> int:
    from autorl import service
    from autorl.families import load_family
    from autorl.runtime.submit import check_tasks

    family = load_family(args.file)
    queued = read_enqueue(args)
    wanted = set(args.only.split(",")) if args.only else None
    if wanted is not None:
        unknown = wanted - {t.name for t in family.tasks}
        if unknown:
            names = ", ".join(t.name for t in family.tasks)
            raise UsageError(f"--only {','.join(sorted(unknown))}: not in {family.name} ({names})")
    tasks = [t for t in family.tasks if wanted is None or t.name in wanted]
    allowed = allowed_entry_points(args)
    for task in tasks:  # a family file may come from someone else: it names code to run
        if (target := disallowed_import(task.spec, allowed)) is not None:
            raise UsageError(
                f"{args.file}: task {task.name!r} would import code ({target!r}), and its "
                "module is not allowed; nothing was run. If you trust it, run with "
                f"--allow-entry-points {target.split(':', 1)[0]}"
            )
    requests = [
        tune_request(args, task.spec, f"{family.name}-{task.name}-{args.algo}", queued)
        for task in tasks
    ]
    for request in requests:  # every refusal before any task runs
        service.check(request)
    check_tasks(args.algo, [t.spec for t in tasks])
    for i, (task, request) in enumerate(zip(tasks, requests, strict=True), 1):
        print(f"[{i}/{len(tasks)}] {family.name}: {task.name}")
        tune(request, args)
    return 0
