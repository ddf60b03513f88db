"""autorl's own tables on PostgreSQL: initialised once by concurrent processes, beside Optuna's."""

from __future__ import annotations

import pytest
import sqlalchemy

from autorl import db
from autorl.errors import SchemaError
from autorl.types import StudyLink, TaskSpec
from tests.concurrency import ensure_schema_at_once
from tests.db_checks import migration_drift

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

SPEC = TaskSpec(env_id="CartPole-v1", env_kwargs={"render_mode": None})


@pytest.fixture(autouse=True)
def _fresh_engines():
    yield
    db.dispose_engines()  # the fixture drops the database afterwards
    db.clear_schema_cache()


def _scalar(url: str, sql: str) -> object:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.text(sql)).scalar()
    finally:
        engine.dispose()


def test_initialise_and_round_trip(pg_url):
    assert db.current_revision(pg_url) is None
    record = db.register_task(pg_url, SPEC, family="poles")
    assert db.current_revision(pg_url) == db.head_revision()
    assert db.register_task(pg_url, SPEC, family="classic").families == ("classic", "poles")
    assert db.list_tasks(pg_url, family="poles") == [
        db.get_task(pg_url, record.key),
    ]
    assert db.list_families(pg_url) == [("classic", 1), ("poles", 1)]
    db.link_study(pg_url, StudyLink("s1", record.key, "ppo", family="poles"))
    assert db.study_links(pg_url, family="poles") == [StudyLink("s1", record.key, "ppo", "poles")]

    assert migration_drift(pg_url) == []


def test_an_unknown_revision_is_refused(pg_url):
    db.ensure_schema(pg_url)
    engine = sqlalchemy.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("UPDATE autorl_alembic_version SET version_num = 'zz99'"))
    engine.dispose()
    db.clear_schema_cache()
    with pytest.raises(SchemaError, match="newer autorl"):
        db.ensure_schema(pg_url)


def test_three_processes_initialise_a_fresh_database_once(pg_url):
    assert ensure_schema_at_once(pg_url, 3) == [0, 0, 0]
    assert db.current_revision(pg_url) == db.head_revision()
    assert _scalar(pg_url, "SELECT count(*) FROM autorl_alembic_version") == 1
    tables = _scalar(
        pg_url,
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'public' AND table_name LIKE 'autorl\\_%'",
    )
    assert tables == 9  # eight tables (five of the registry, three of PBT) and the version
    assert _scalar(pg_url, "SELECT to_regclass('alembic_version')") is None  # Optuna's: untouched
