"""``autorl kb export|import``: share or seed a team's tuning history."""

from __future__ import annotations

import argparse
from pathlib import Path

from autorl.cli.common import (
    add_allow_entry_points,
    add_storage,
    allowed_entry_points,
    shown_url,
    storage_url,
)


def register(sub: argparse._SubParsersAction) -> None:
    kb = sub.add_parser("kb", help="export or import the knowledge base (tasks, studies, trials)")
    ksub = kb.add_subparsers(dest="kb_command", required=True, metavar="ACTION")
    e = ksub.add_parser("export", help="write tasks, features, studies and trials as JSON lines")
    e.add_argument("file", type=Path)
    e.add_argument("--family", help="only this family's tasks and studies")
    add_storage(e)
    e.set_defaults(handler=cmd_export)
    i = ksub.add_parser("import", help="add a knowledge-base file's contents (idempotent)")
    i.add_argument("file", type=Path)
    add_allow_entry_points(i, "the file's")
    add_storage(i)
    i.set_defaults(handler=cmd_import)


def cmd_export(args: argparse.Namespace) -> int:
    from autorl.knowledge.kb import export_kb

    counts = export_kb(storage_url(args), args.file, args.family)
    print(
        f"exported {counts.get('task', 0)} tasks, {counts.get('study', 0)} studies, "
        f"{counts.get('trial', 0)} trials to {args.file}"
    )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from autorl.knowledge.kb import import_kb

    url = storage_url(args)
    counts = import_kb(url, args.file, allowed_entry_points(args))
    print(
        f"imported into {shown_url(url)}: {counts.tasks} tasks, {counts.studies_created} new "
        f"studies, {counts.trials_added} trials added ({counts.trials_skipped} already there)"
    )
    return 0
