"""Settings read from the environment. Nothing happens at import time."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_STORAGE_DIR = Path("storage")
DEFAULT_DB_NAME = "autorl.db"


_PACKAGE = Path(__file__).resolve().parent


def shipped(relative: str) -> Path:
    """A data folder autorl ships (``search_spaces``, ``storage/migrations``, ``storage/seed``):
    the copy inside an installed package (``autorl/_shipped/``, built by pyproject.toml), else
    the folder at the top of the source checkout."""
    installed = _PACKAGE / "_shipped" / relative
    return installed if installed.is_dir() else _PACKAGE.parent / relative


def spaces_dir() -> Path:
    """Where the shipped search spaces live (``AUTORL_SPACES_DIR`` overrides)."""
    override = os.environ.get("AUTORL_SPACES_DIR")
    return Path(override) if override else shipped("search_spaces")


def seed_kb_dir() -> Path | None:
    """Knowledge-base files every warm start also learns from (``AUTORL_SEED_KB``: a folder,
    or ``none`` to learn only from the storage). Default: the shipped ``storage/seed/``."""
    override = os.environ.get("AUTORL_SEED_KB")
    if override is not None:
        return None if override.lower() in ("", "none") else Path(override)
    return shipped("storage/seed")


def default_storage_url() -> str:
    """``AUTORL_STORAGE`` if set, else a SQLite file under ``./storage/``."""
    url = os.environ.get("AUTORL_STORAGE")
    if url:
        return url
    return f"sqlite:///{DEFAULT_STORAGE_DIR / DEFAULT_DB_NAME}"


@dataclass(frozen=True)
class HeartbeatSettings:
    """How a dead worker's trial is detected: no heartbeat for ``grace_s`` seconds."""

    interval_s: int = 10
    grace_s: int = 60

    @classmethod
    def from_env(cls) -> HeartbeatSettings:
        return cls(
            interval_s=int(os.environ.get("AUTORL_HEARTBEAT_INTERVAL", "10")),
            grace_s=int(os.environ.get("AUTORL_HEARTBEAT_GRACE", "60")),
        )
