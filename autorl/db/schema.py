"""The autorl tables' schema, managed by Alembic beside Optuna's own.

The migrations live in ``storage/migrations/`` and keep their revision in their own version
table, ``autorl_alembic_version``; Optuna's ``alembic_version`` is never read or written, and
only tables named ``autorl_*`` are ever considered.

Every program entry that uses the tables calls :func:`ensure_schema`: a database without
autorl tables is initialised (safely when many workers start at once); one whose tables are
older than this code, or written by a newer autorl, is refused with a :class:`SchemaError`
that says what to run. Changing an existing schema is only done by ``autorl db upgrade``.

The common case (tables already at this code's revision) is answered without importing
Alembic (a third of a second of ``autorl studies``): the head is read from the migration
files' ``revision`` lines and the stored revision with one SELECT; anything else goes the
Alembic way.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import re
import shlex
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from autorl.db.engine import (
    get_engine,
    new_engine,
    parse_url,
    shown_url,
    sqlite_file,
    unreachable,
)
from autorl.db.models import TABLE_PREFIX
from autorl.errors import SchemaError
from autorl.settings import shipped

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)

VERSION_TABLE = "autorl_alembic_version"
# PostgreSQL advisory lock held while the schema is created or upgraded. Above 2**32, so it
# never meets the crc32 keys of autorl.runtime.locks.
SCHEMA_LOCK_KEY = 0x6175746F726C0001  # b"autorl" + 1

_CHECKED: set[str] = set()
_CHECKED_LOCK = threading.Lock()


def migrations_dir() -> Path:
    """The Alembic script folder: the shipped ``storage/migrations``."""
    return shipped("storage/migrations")


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic filter: of the database's tables, only ``autorl_*`` ones (not the version table)."""
    if type_ == "table":
        return bool(name) and name.startswith(TABLE_PREFIX) and name != VERSION_TABLE
    return True


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic filter on schema objects: only tables named ``autorl_*`` and what they hold."""
    if type_ == "table":
        return include_name(name, "table", {})
    table = getattr(obj, "table", None)
    if table is not None:
        return include_name(table.name, "table", {})
    return True


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config built in code (no alembic.ini); ``connection`` is handed to env.py."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@functools.lru_cache(maxsize=4)
def _script(location: str) -> ScriptDirectory:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    if not (Path(location) / "env.py").is_file():
        raise SchemaError(
            f"autorl's database migrations are missing: no {Path(location) / 'env.py'} "
            "(a broken install: reinstall autorl, whose package ships them)"
        )
    cfg = Config()
    cfg.set_main_option("script_location", location.replace("%", "%%"))
    return ScriptDirectory.from_config(cfg)


def script_directory() -> ScriptDirectory:
    """The migration scripts this code knows."""
    return _script(str(migrations_dir()))


def head_revision() -> str:
    """The newest revision this code knows: what ``ensure_schema`` requires."""
    head = script_directory().get_current_head()
    if head is None:
        raise SchemaError(f"no migrations found in {migrations_dir()}")
    return head


def known_revisions() -> set[str]:
    """Every revision this code has a migration for."""
    return {rev.revision for rev in script_directory().walk_revisions()}


def _read_revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    heads = context.get_current_heads()
    if len(heads) > 1:
        raise SchemaError(f"{VERSION_TABLE} holds several revisions {heads}; expected one")
    return heads[0] if heads else None


def _autorl_tables(conn: Connection) -> list[str]:
    return sorted(n for n in inspect(conn).get_table_names() if include_name(n, "table", {}))


def _upgrade_command(url: str) -> str:
    return f"autorl db upgrade --storage {shlex.quote(shown_url(url))}"


def _check_known(url: str, revision: str) -> None:
    if revision not in known_revisions():
        raise SchemaError(
            f"the autorl tables in {shown_url(url)} were written by a newer autorl: their schema "
            f"revision {revision!r} is unknown to this version (newest {head_revision()!r}); "
            "upgrade autorl to use this database"
        )


def _check_consistent(url: str, conn: Connection, revision: str | None) -> None:
    tables = _autorl_tables(conn) if revision is None else []
    if tables:
        raise SchemaError(
            f"{shown_url(url)} has autorl tables ({', '.join(tables)}) but {VERSION_TABLE} "
            "records no schema revision: they were not made by autorl's migrations, or making "
            "them was interrupted. If they hold nothing to keep, drop them and run "
            f"`{_upgrade_command(url)}` to create them again"
        )


def _refuse(url: str, revision: str) -> None:
    """Raise the SchemaError that says what to do with a revision that is not head."""
    _check_known(url, revision)
    raise SchemaError(
        f"the autorl tables in {shown_url(url)} are at schema revision {revision!r}, older than "
        f"this autorl's {head_revision()!r}; upgrade them (Optuna's tables are left alone) "
        f"with: {_upgrade_command(url)}"
    )


def _sqlite_begin_immediate(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


@contextlib.contextmanager
def _schema_connection(url: str) -> Iterator[Connection]:
    """A connection for changing the schema, held exclusively against other autorl processes.

    PostgreSQL: a session advisory lock on this connection. SQLite file: an ``flock`` on
    ``<file>-autorl-schema.lock`` (beside it; ``.gitignore`` already ignores ``storage/*.db-*``),
    and transactions opened with ``BEGIN IMMEDIATE`` so the DDL is atomic too.
    In-memory SQLite (one process) and other backends: no lock.
    """
    parsed = parse_url(url)
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = new_engine(url, foreign_keys=False, poolclass=NullPool)
        event.listen(engine, "connect", _sqlite_no_driver_transactions)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        try:
            with open(f"{path}-autorl-schema.lock", "a+") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    with engine.connect() as conn:
                        yield conn
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            engine.dispose()
    elif parsed.get_backend_name() == "postgresql":
        with get_engine(url).connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": SCHEMA_LOCK_KEY})
            conn.commit()
            try:
                yield conn
            finally:
                try:
                    conn.rollback()
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": SCHEMA_LOCK_KEY})
                    conn.commit()
                except SQLAlchemyError:
                    log.warning("could not release the schema lock; dropping the connection")
                    conn.invalidate()
    else:
        with get_engine(url).connect() as conn:
            yield conn


def _migrate(conn: Connection) -> None:
    """Run the migrations to head on ``conn`` (inside the caller's transaction)."""
    from alembic import command

    command.upgrade(alembic_config(conn), "head")


_REVISION_LINE = re.compile(r"^(down_revision|revision)\b[^=]*=\s*(.+)$", re.MULTILINE)


@functools.lru_cache(maxsize=4)
def _file_head(location: str) -> str | None:
    """The head revision read from the migration files, without Alembic: the one revision
    no other names as its ``down_revision``. None when the files do not say it plainly."""
    revisions, downs = set(), set()
    for path in sorted(Path(location, "versions").glob("*.py")):
        found = dict(m.groups() for m in _REVISION_LINE.finditer(path.read_text()))
        if "revision" not in found:
            return None
        revisions.add(found["revision"].strip().strip("'\""))
        down = found.get("down_revision", "None").strip()
        if down != "None":
            if not down.startswith(("'", '"')):
                return None  # a merge (a tuple of revisions): Alembic decides
            downs.add(down.strip("'\""))
    heads = revisions - downs
    return heads.pop() if len(heads) == 1 else None


def _is_current(url: str) -> bool:
    """Whether the stored revision is this code's head, asked without Alembic (False when
    unsure: the caller then checks the Alembic way)."""
    head = _file_head(str(migrations_dir()))
    path = sqlite_file(url)
    if head is None or (path is not None and not path.exists()):
        return False
    try:
        with get_engine(url).connect() as conn:
            stored = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    except SQLAlchemyError:
        return False  # no version table yet, or unreachable: the Alembic path says which
    return stored == [head]


def _mark_checked(url: str) -> None:
    with _CHECKED_LOCK:
        _CHECKED.add(url)


def clear_schema_cache() -> None:
    """Forget which URLs were checked: the next ``ensure_schema`` looks at the database again."""
    with _CHECKED_LOCK:
        _CHECKED.clear()


def current_revision(url: str) -> str | None:
    """The revision the autorl tables of ``url`` are at; None if they were never created."""
    path = sqlite_file(url)
    if path is not None and not path.exists():
        return None
    with get_engine(url).connect() as conn:
        return _read_revision(conn)


def upgrade(url: str) -> str:
    """Create or upgrade the autorl tables of ``url`` to head; returns the revision now stored.

    Refuses (SchemaError) a database written by a newer autorl.
    """
    with _schema_connection(url) as conn, conn.begin():
        before = _read_revision(conn)
        if before is not None:
            _check_known(url, before)
        _check_consistent(url, conn, before)
        if before != head_revision():
            log.info("upgrading the autorl tables of %s from %s", shown_url(url), before)
            _migrate(conn)
        after = _read_revision(conn)
    if after is None:
        raise SchemaError(f"upgrading {shown_url(url)} left no revision in {VERSION_TABLE}")
    _mark_checked(url)
    return after


def ensure_schema(url: str) -> None:
    """Make sure the autorl tables of ``url`` are usable by this code.

    A database without them (fresh, or holding only Optuna's tables) is initialised, under a
    lock so that concurrent workers do it once. Tables at an older revision, or at a revision
    this code does not know, are refused with a SchemaError naming what to run. After the
    first success the answer is cached for the process.
    """
    if url in _CHECKED or _is_current(url):
        _mark_checked(url)
        return
    head = head_revision()
    try:
        with get_engine(url).connect() as conn:
            revision = _read_revision(conn)
    except (OperationalError, InterfaceError) as exc:
        raise unreachable(url, exc) from exc
    if revision is None:
        with _schema_connection(url) as conn, conn.begin():
            revision = _read_revision(conn)
            if revision is None:
                _check_consistent(url, conn, revision)
                log.info("creating the autorl tables in %s", shown_url(url))
                _migrate(conn)
                revision = _read_revision(conn)
    if revision != head:
        if revision is None:
            raise SchemaError(f"creating the autorl tables in {shown_url(url)} failed")
        _refuse(url, revision)
    _mark_checked(url)
