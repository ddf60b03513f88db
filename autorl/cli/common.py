"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import json
from typing import Any

from autorl.errors import AutoRLError


def add_storage(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage",
        default=None,
        help="SQLAlchemy URL of the results database (default: $AUTORL_STORAGE, "
        "else sqlite:///storage/autorl.db)",
    )


def storage_url(args: argparse.Namespace) -> str:
    from autorl.settings import default_storage_url  # pydantic only when a command runs

    return args.storage or default_storage_url()


def add_allow_entry_points(parser: argparse.ArgumentParser, whose: str) -> None:
    """``--allow-entry-points PREFIXES``: the modules ``whose`` tasks may import."""
    parser.add_argument(
        "--allow-entry-points",
        default="",
        metavar="PREFIXES",
        help=f"comma-separated module prefixes {whose} tasks may import (default: none; a "
        "task naming an entry point or a module:Env-v0 id is refused without its prefix)",
    )


def allowed_entry_points(args: argparse.Namespace) -> list[str]:
    return [p.strip() for p in args.allow_entry_points.split(",") if p.strip()]


def shown_url(url: str) -> str:
    """The URL with any password hidden, for printing."""
    from autorl.db.engine import shown_url as hidden  # SQLAlchemy only when a command needs it

    return hidden(url)


def json_object(text: str | None, option: str) -> dict[str, Any]:
    """Parse a JSON object given on the command line; say which option is wrong."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AutoRLError(
            f"{option}: not valid JSON ({exc.msg} at column {exc.colno}): {text}"
        ) from None
    if not isinstance(value, dict):
        raise AutoRLError(f'{option}: expected a JSON object like {{"g": 12.0}}, got {text}')
    return value


def print_table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Left-aligned columns, as wide as their widest cell."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=False)).rstrip())
