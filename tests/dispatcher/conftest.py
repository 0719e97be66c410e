"""Fixtures of the dispatcher's tests against real PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from telecast_devenv import Infra
from telecast_devenv.databases import create_database, drop_database
from telecast_devenv.schemas import migrate_all


@pytest.fixture(scope="module")
def own_database(infra: Infra) -> Iterator[str]:
    """A database for the module alone: its synthetic ledgers and executions must reach no
    other test's read models or sweeps; its schemas migrated."""
    name = f"telecast_t_{secrets.token_hex(4)}"
    url = create_database(infra.database_url, name)
    migrate_all(url)
    try:
        yield url
    finally:
        drop_database(infra.database_url, name)
