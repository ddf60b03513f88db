"""``autorl db upgrade`` and ``autorl db current``: the schema of autorl's own tables."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

from autorl.cli.common import add_storage, shown_url, storage_url
from autorl.errors import AutoRLError


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser(
        "db",
        help="create or upgrade autorl's tables in the results database",
        description="autorl keeps its own tables (tasks, families, study links) beside "
        "Optuna's, with their own schema revision; Optuna's tables are never touched.",
    )
    actions = d.add_subparsers(dest="db_command", required=True, metavar="ACTION")

    u = actions.add_parser("upgrade", help="create the autorl tables or upgrade them to head")
    add_storage(u)
    u.set_defaults(handler=cmd_upgrade)

    c = actions.add_parser("current", help="print the stored and the newest schema revision")
    add_storage(c)
    c.set_defaults(handler=cmd_current)


def _shown(revision: str | None) -> str:
    return revision or "none (no autorl tables)"


@contextlib.contextmanager
def _reaching(url: str) -> Iterator[None]:
    """Turn "cannot connect" into a one-line error instead of a traceback."""
    from sqlalchemy.exc import OperationalError

    try:
        yield
    except OperationalError as exc:
        raise AutoRLError(f"cannot use the database {shown_url(url)}: {exc.orig}") from exc


def cmd_upgrade(args: argparse.Namespace) -> int:
    from autorl.db.schema import current_revision, upgrade

    url = storage_url(args)
    with _reaching(url):
        before = current_revision(url)
        after = upgrade(url)
    print(f"storage: {shown_url(url)}")
    print(f"before:  {_shown(before)}")
    print(f"after:   {_shown(after)}" + (" (already up to date)" if before == after else ""))
    return 0


def cmd_current(args: argparse.Namespace) -> int:
    from autorl.db.schema import current_revision, head_revision

    url = storage_url(args)
    with _reaching(url):
        current = current_revision(url)
    head = head_revision()
    print(f"storage: {shown_url(url)}")
    print(f"current: {_shown(current)}")
    print(f"head:    {head}")
    if current is not None and current != head:
        print(f"run: autorl db upgrade --storage {shown_url(url)}")
    return 0
