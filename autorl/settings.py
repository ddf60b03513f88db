"""Every environment variable autorl reads, in one settings object, and the folders it ships.

``current()`` reads the environment when asked (nothing at import time: tests and a long-
running server see changes); a bad value is an ``AutoRLError`` naming the variable, e.g.
``AUTORL_HEARTBEAT_GRACE='soon': Input should be a valid integer``. An empty variable counts
as unset. Imports nothing from autorl but ``errors``.

=============================  =========================================================
``AUTORL_STORAGE``             storage URL (default ``sqlite:///storage/autorl.db``)
``AUTORL_SPACES_DIR``          where named search spaces are read (default: shipped)
``AUTORL_SEED_KB``             seed knowledge-base folder, or ``none`` (default: shipped)
``AUTORL_HEARTBEAT_INTERVAL``  seconds between a running trial's heartbeats (10)
``AUTORL_HEARTBEAT_GRACE``     seconds without one before the trial is re-queued (60)
``AUTORL_TRIAL_ISOLATION``     0: seed runs train in the worker's process (a debugger, a
                               profiler); default 1: each in a child process
``AUTORL_API_URL``             the API ``autorl remote`` talks to (http://127.0.0.1:8000)
``AUTORL_API_TOKEN``           the API's write token (server) / the token sent (client)
``AUTORL_API_DEV``             1: development: a placeholder, short or no token is accepted
``AUTORL_API_OPEN_READS``      0: reads need the token too
``AUTORL_API_MAX_TIMESTEPS``   per training run, per submission (10,000,000)
``AUTORL_API_MAX_TRIALS``      budget per submission (10,000)
``AUTORL_API_MAX_CONCURRENT_STUDIES``  open studies at once (100)
``AUTORL_API_ENTRY_POINTS``    comma-separated module prefixes a submission may import
``AUTORL_WORKER_ENTRY_POINTS`` module prefixes a worker may import to build a stored study's
                               env (``none``: registered ids only); unset: any (whoever
                               can write the storage can run code on its workers)
=============================  =========================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from autorl.errors import AutoRLError

PREFIX = "AUTORL_"
DEFAULT_STORAGE_DIR = Path("storage")
DEFAULT_DB_NAME = "autorl.db"
DEFAULT_API_URL = "http://127.0.0.1:8000"
_PACKAGE = Path(__file__).resolve().parent


class SettingsValues(BaseModel):
    """The variables, without the ``AUTORL_`` prefix, lower case."""

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    storage: str | None = None
    spaces_dir: Path | None = None
    seed_kb: str | None = None
    heartbeat_interval: int = Field(default=10, ge=1, le=3600)
    heartbeat_grace: int = Field(default=60, ge=1)
    trial_isolation: bool = True
    api_url: str = DEFAULT_API_URL
    api_token: SecretStr | None = None
    api_dev: bool = False
    api_open_reads: bool = True
    api_max_timesteps: int = Field(default=10_000_000, ge=100, le=1_000_000_000)
    api_max_trials: int = Field(default=10_000, ge=1, le=100_000)
    api_max_concurrent_studies: int = Field(default=100, ge=1)
    api_entry_points: str = ""
    worker_entry_points: str | None = None

    @property
    def storage_url(self) -> str:
        """``AUTORL_STORAGE``, else a SQLite file under ``./storage/``."""
        return self.storage or f"sqlite:///{DEFAULT_STORAGE_DIR / DEFAULT_DB_NAME}"

    @property
    def entry_points(self) -> list[str]:
        return [p.strip() for p in self.api_entry_points.split(",") if p.strip()]

    @property
    def worker_imports(self) -> list[str] | None:
        """The module prefixes a worker may import (None: any)."""
        if self.worker_entry_points is None:
            return None
        given = [p.strip() for p in self.worker_entry_points.split(",") if p.strip()]
        return [] if given == ["none"] else given


class _FromEnvironment(SettingsValues, BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX, extra="ignore", env_ignore_empty=True, frozen=True
    )


def current(env: Mapping[str, str] | None = None) -> SettingsValues:
    """The settings from ``env`` (default: the process environment)."""
    try:
        if env is None:
            return _FromEnvironment()
        values = {
            name.removeprefix(PREFIX).lower(): value
            for name, value in env.items()
            if name.startswith(PREFIX) and value != ""
        }
        return SettingsValues.model_validate(values)
    except ValidationError as exc:
        raise AutoRLError("; ".join(_problems(exc))) from None


def _problems(exc: ValidationError) -> list[str]:
    """One line per bad variable, named as the user set it; the value is not echoed (the
    token is one)."""
    return [
        f"{PREFIX}{str(e['loc'][0]).upper() if e['loc'] else '?'}: {e['msg']}" for e in exc.errors()
    ]


def shipped(relative: str) -> Path:
    """A data folder autorl ships (``search_spaces``, ``storage/migrations``, ``storage/seed``):
    the copy inside an installed package (``autorl/_shipped/``, built by pyproject.toml), else
    the folder at the top of the source checkout."""
    installed = _PACKAGE / "_shipped" / relative
    return installed if installed.is_dir() else _PACKAGE.parent / relative


def spaces_dir() -> Path:
    """Where named search spaces are read (``AUTORL_SPACES_DIR``, else the shipped ones)."""
    return current().spaces_dir or shipped("search_spaces")


def seed_kb_dir() -> Path | None:
    """Knowledge-base files every warm start also learns from (``AUTORL_SEED_KB``: a folder,
    or ``none`` to learn only from the storage). Default: the shipped ``storage/seed/``."""
    value = current().seed_kb
    if value is None:
        return shipped("storage/seed")
    return None if value.strip().lower() == "none" else Path(value)


def default_storage_url() -> str:
    """``AUTORL_STORAGE`` if set, else a SQLite file under ``./storage/``."""
    return current().storage_url


@dataclass(frozen=True)
class HeartbeatSettings:
    """How a dead worker's trial is detected: no heartbeat for ``grace_s`` seconds."""

    interval_s: int = 10
    grace_s: int = 60

    @classmethod
    def from_env(cls) -> HeartbeatSettings:
        values = current()
        return cls(interval_s=values.heartbeat_interval, grace_s=values.heartbeat_grace)
