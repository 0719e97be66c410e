"""Versioned schema migrations: one Alembic history per service schema.

Each service keeps its history in ``telecast_<service>/migrations/`` (plain SQL in numbered
files) and records where its schema stands in ``<schema>.alembic_version``. A deployment
step applies them (``python -m telecast_<service> migrate``); a service only checks, at
start, that its schema is at the version its code needs, and refuses to start otherwise:
replicas starting together never race to change a schema.

Alembic runs without its ``env.py`` and ``alembic.ini``: the histories are found and applied
from here, so that every service does it the same way (docs/operations.md, "Migrations").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg
from alembic import op
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from telecast_libs.settings import CommonSettings, load_settings

VERSION_TABLE = "alembic_version"


@dataclass(frozen=True)
class History:
    """A service's migrations: the PostgreSQL schema they build and the folder they are in."""

    service: str
    schema: str
    folder: Path

    @property
    def command(self) -> str:
        """The deployment step that brings this schema up to date."""
        return f"python -m telecast_{self.service} migrate"

    @property
    def lock(self) -> str:
        return f"telecast.migrate.{self.schema}"

    def scripts(self) -> ScriptDirectory:
        return ScriptDirectory(str(self.folder), version_locations=[str(self.folder)])

    def head(self) -> str:
        """The revision this code needs (a history has one line, so one head)."""
        head = self.scripts().get_current_head()
        assert head is not None, f"{self.folder} holds no migration"
        return head


class SchemaNotCurrent(Exception):
    """The database's schema is not at the version the service's code needs."""


def execute(statements: str) -> None:
    """Run plain SQL (any number of statements) in the migration's transaction.

    Straight through psycopg, not SQLAlchemy's ``text()``: no bind parameters are parsed out
    of the SQL (``:name``, ``%``), so a migration reads as the SQL it runs.
    """
    op.get_bind().connection.driver_connection.execute(statements)


def current_revision(database_url: str, history: History) -> str | None:
    """The revision the database's schema is at; None before its first migration."""
    table = psycopg.sql.Identifier(history.schema, VERSION_TABLE)
    with psycopg.connect(database_url, autocommit=True) as conn:
        try:
            row = conn.execute(
                psycopg.sql.SQL("SELECT version_num FROM {}").format(table)
            ).fetchone()
        except psycopg.errors.UndefinedTable:
            return None
    return row[0] if row else None


def require_current(database_url: str, history: History) -> None:
    """Raise SchemaNotCurrent, naming the command to run, unless the schema is at head."""
    current = current_revision(database_url, history)
    needed = history.head()
    if current == needed:
        return
    if current is None:
        state = f"the {history.schema} schema has no migration applied"
    else:
        state = f"the {history.schema} schema is at migration {current}"
    raise SchemaNotCurrent(
        f"{state}; this version of telecast {history.service} needs migration {needed}. "
        f"Run `{history.command}` (the deployment's migrate step) first."
    )


def migrate(database_url: str, history: History, to: str = "head") -> tuple[str | None, str]:
    """Apply the history's pending migrations, up to ``to``, in one transaction; the
    revisions (before, after).

    Concurrent runs queue on an advisory lock held until the transaction ends; the next one
    then finds the schema at head and does nothing.
    """
    scripts = history.scripts()
    url = make_url(database_url).set(drivername="postgresql+psycopg")
    engine = create_engine(url, poolclass=NullPool)
    applied: list[str | None] = []

    # What alembic's own ``upgrade`` command runs: called with the revision the database is
    # at (read under the lock), it answers the steps from there to head.
    def upgrade(revision: object, _context: object) -> list:
        applied.append(scripts.as_revision_number(revision))  # type: ignore[arg-type]
        return scripts._upgrade_revs(to, revision)  # type: ignore[arg-type]

    try:
        with engine.connect() as connection, connection.begin():
            connection.exec_driver_sql(
                "SELECT pg_advisory_xact_lock(hashtext(%(lock)s))", {"lock": history.lock}
            )
            # The version table lives in the schema, so the schema comes before any migration.
            connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{history.schema}"')
            with EnvironmentContext(Config(), scripts, fn=upgrade) as environment:
                environment.configure(
                    connection=connection,
                    version_table_schema=history.schema,
                    transactional_ddl=True,
                )
                environment.run_migrations()
    finally:
        engine.dispose()
    return (applied[0] if applied else None), scripts.get_revision(to).revision


def migrate_command(history: History) -> None:
    """``python -m telecast_<service> migrate``: bring the schema at DATABASE_URL up to date."""
    settings = load_settings(CommonSettings)
    before, after = migrate(settings.database_url, history)
    if before == after:
        print(f"the {history.schema} schema is at migration {after}: nothing to do")
    else:
        print(f"the {history.schema} schema migrated from {before or 'nothing'} to {after}")
