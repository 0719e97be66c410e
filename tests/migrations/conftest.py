"""Fixtures of the migration tests: databases of their own, empty or as before migrations."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from telecast_devenv import Infra
from telecast_devenv.databases import create_database, drop_database

LEGACY_SCHEMA = Path(__file__).with_name("legacy_startup_schema.sql")


@pytest.fixture
def new_database(infra: Infra) -> Iterator[Callable[[], str]]:
    """Makes databases of the test's own, empty (dropped when it ends)."""
    names: list[str] = []

    def create() -> str:
        names.append(f"telecast_t_{secrets.token_hex(4)}")
        return create_database(infra.database_url, names[-1])

    try:
        yield create
    finally:
        for name in names:
            drop_database(infra.database_url, name)


@pytest.fixture
def empty_database(new_database: Callable[[], str]) -> str:
    return new_database()


@pytest.fixture
def legacy_database(empty_database: str) -> str:
    """A database whose schemas the start-up code of before migrations made."""
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute(LEGACY_SCHEMA.read_text())
        # The rows that code wrote with its tables (the dump holds the schemas only).
        conn.execute("INSERT INTO campaign.relay_position (position) VALUES (0)")
        conn.execute("INSERT INTO campaign.schedule_position (position) VALUES (0)")
    return empty_database
