"""The autorl tables' schema: initialised on first use, refused when older or newer, upgraded
by ``autorl db upgrade``, created once when several processes start at once."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from autorl import db
from autorl.cli import main
from autorl.db import schema
from autorl.errors import SchemaError
from autorl.types import TaskSpec
from tests.concurrency import ensure_schema_at_once
from tests.db_checks import migration_drift

SPEC = TaskSpec(env_id="CartPole-v1")

# A later revision, to make the real one "old": adds a nullable column to a table of ours.
REVISION_LATER = '''"""A later schema (test only)."""

import sqlalchemy as sa
from alembic import op

revision = "9002"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("autorl_families", sa.Column("colour", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("autorl_families") as batch:
        batch.drop_column("colour")
'''


@pytest.fixture(autouse=True)
def _fresh_engines():
    yield
    db.dispose_engines()
    db.clear_schema_cache()


def _path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def _snapshot(url: str) -> dict[str, object]:
    """Every table's definition and rows, Optuna's and ours."""
    with sqlite3.connect(_path(url)) as conn:
        tables = conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
        rows = {
            name: conn.execute(f'SELECT * FROM "{name}" ORDER BY 1').fetchall()
            for name, sql in tables
            if sql and sql.startswith("CREATE TABLE")
        }
    return {"schema": tables, "rows": rows}


def _set_revision(url: str, revision: str) -> None:
    with sqlite3.connect(_path(url)) as conn:
        conn.execute("UPDATE autorl_alembic_version SET version_num = ?", (revision,))


@pytest.fixture
def later_migrations(tmp_path, monkeypatch) -> Path:
    """This code's migrations plus a revision 9002, standing in for a newer autorl release."""
    folder = tmp_path / "migrations"
    shutil.copytree(schema.migrations_dir(), folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "versions" / "9002_later.py").write_text(REVISION_LATER)
    return folder


def test_a_fresh_database_is_initialised_on_first_use(sqlite_url):
    assert db.current_revision(sqlite_url) is None
    assert not Path(_path(sqlite_url)).exists()  # asking does not create the file
    db.ensure_schema(sqlite_url)
    assert db.current_revision(sqlite_url) == db.head_revision() == "0002"
    db.ensure_schema(sqlite_url)  # cached: no second initialisation
    db.clear_schema_cache()
    db.ensure_schema(sqlite_url)  # checked again: up to date
    assert db.list_tasks(sqlite_url) == []


def test_the_migrations_build_exactly_the_models(sqlite_url):
    db.ensure_schema(sqlite_url)
    assert migration_drift(sqlite_url) == []


def test_an_older_schema_is_refused_naming_the_upgrade_command(
    sqlite_url, later_migrations, monkeypatch
):
    db.register_task(sqlite_url, SPEC, family="poles")  # stored at revision 0002
    db.clear_schema_cache()
    monkeypatch.setattr(schema, "migrations_dir", lambda: later_migrations)
    assert db.head_revision() == "9002"
    before = _snapshot(sqlite_url)

    with pytest.raises(SchemaError) as info:
        db.ensure_schema(sqlite_url)
    assert f"autorl db upgrade --storage {sqlite_url}" in str(info.value)
    assert "'0002'" in str(info.value)
    with pytest.raises(SchemaError, match="autorl db upgrade"):
        db.list_tasks(sqlite_url)
    assert _snapshot(sqlite_url) == before  # a refusal changes nothing

    assert main(["db", "upgrade", "--storage", sqlite_url]) == 0
    assert db.current_revision(sqlite_url) == "9002"
    assert [r.families for r in db.list_tasks(sqlite_url)] == [("poles",)]
    with sqlite3.connect(_path(sqlite_url)) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(autorl_families)")]
    assert "colour" in columns


def test_a_newer_schema_is_refused_saying_to_upgrade_autorl(sqlite_url, capsys):
    db.register_task(sqlite_url, SPEC)
    _set_revision(sqlite_url, "9999_future")
    db.clear_schema_cache()
    before = _snapshot(sqlite_url)

    with pytest.raises(SchemaError, match=r"written by a newer autorl.*upgrade autorl"):
        db.ensure_schema(sqlite_url)
    with pytest.raises(SchemaError, match="newer autorl"):
        db.get_task(sqlite_url, SPEC.key())
    assert main(["db", "upgrade", "--storage", sqlite_url]) == 2  # nor does upgrade touch it
    assert "newer autorl" in capsys.readouterr().err
    assert _snapshot(sqlite_url) == before


def test_tables_without_a_recorded_revision_are_refused(sqlite_url):
    db.register_task(sqlite_url, SPEC)
    with sqlite3.connect(_path(sqlite_url)) as conn:
        conn.execute("DELETE FROM autorl_alembic_version")  # like `alembic stamp base`
    db.clear_schema_cache()
    before = _snapshot(sqlite_url)
    with pytest.raises(SchemaError, match=r"records no schema revision.*autorl db upgrade"):
        db.ensure_schema(sqlite_url)
    assert _snapshot(sqlite_url) == before


def test_autorl_db_upgrade_and_current(sqlite_url, capsys):
    assert main(["db", "current", "--storage", sqlite_url]) == 0
    out = capsys.readouterr().out
    assert "current: none" in out and "head:    0002" in out

    assert main(["db", "upgrade", "--storage", sqlite_url]) == 0
    out = capsys.readouterr().out
    assert "before:  none" in out and "after:   0002" in out
    assert main(["db", "upgrade", "--storage", sqlite_url]) == 0
    assert "already up to date" in capsys.readouterr().out
    assert db.current_revision(sqlite_url) == db.head_revision()


def test_two_processes_initialise_one_fresh_file_at_once(sqlite_url):
    assert ensure_schema_at_once(sqlite_url, 2) == [0, 0]
    assert db.current_revision(sqlite_url) == db.head_revision()
    with sqlite3.connect(_path(sqlite_url)) as conn:
        assert conn.execute("SELECT count(*) FROM autorl_alembic_version").fetchone() == (1,)


def test_a_current_database_is_checked_without_importing_alembic(sqlite_url):
    db.ensure_schema(sqlite_url)  # created (the Alembic way)
    assert schema._file_head(str(schema.migrations_dir())) == schema.head_revision()
    script = (
        "import sys; from autorl import db; db.ensure_schema(sys.argv[1]); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, sqlite_url], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout
