"""Throwaway PostgreSQL databases for the test suite and the benchmarks: one per test or run,
created on the server at ``AUTORL_TEST_PG`` (the machine's ``test`` database by default) and
dropped afterwards, whatever is still connected."""

from __future__ import annotations

import os
import uuid

import sqlalchemy

ADMIN_URL = os.environ.get("AUTORL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def database_url(name: str, admin_url: str = ADMIN_URL) -> str:
    """The URL of database ``name`` on the server of ``admin_url``."""
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def _execute(sql: str, admin_url: str) -> None:
    admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(sql))
    finally:
        admin.dispose()


def fresh_database(prefix: str, admin_url: str = ADMIN_URL) -> str:
    """Create an empty database named ``prefix`` + a random suffix; its URL.
    sqlalchemy.exc.OperationalError when the server cannot be reached."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    _execute(f'CREATE DATABASE "{name}"', admin_url)
    return database_url(name, admin_url)


def drop_database(url: str, admin_url: str = ADMIN_URL) -> None:
    """Drop the database of ``url`` (its connections are cut)."""
    _execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)', admin_url)
