"""Databases on a PostgreSQL server: one per test session, ``telecast`` for ``make run``."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import psycopg
from psycopg import sql


def url_with_database(url: str, database: str) -> str:
    """The same server URL, pointing at another database."""
    return urlsplit(url)._replace(path="/" + quote(database, safe="")).geturl()


def create_database(server_url: str, database: str) -> str:
    """Create ``database`` on the server of ``server_url``; return the URL that points at it.

    ``server_url`` names a database that exists (the statement runs there).
    """
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    return url_with_database(server_url, database)


def ensure_database(server_url: str, database: str) -> str:
    """Like create_database, but a database that exists already is kept as it is."""
    with psycopg.connect(server_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if exists is None:
            try:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            except psycopg.errors.DuplicateDatabase:
                pass  # another process created it in the meantime
    return url_with_database(server_url, database)


def drop_database(server_url: str, database: str) -> None:
    """Drop ``database``, ending the sessions still connected to it."""
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )
