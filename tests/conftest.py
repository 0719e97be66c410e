"""Session fixtures: real PostgreSQL and NATS, with a database and a namespace of our own.

A session never sees another session's data, nor that of a running ``make run``: it works in
a fresh database (dropped at the end) and a fresh namespace (its streams deleted at the end).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import pytest

from telecast_devenv import Infra, resolve
from telecast_devenv.databases import create_database, drop_database
from telecast_devenv.jetstream import delete_streams
from telecast_devenv.schemas import migrate_all
from telecast_libs.subjects import check_namespace


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    """PostgreSQL and NATS from $DATABASE_URL/$NATS_URL, Docker or embedded servers."""
    resolved = resolve("test")
    try:
        yield resolved
    finally:
        resolved.stop()


@pytest.fixture(scope="session")
def database_url(infra: Infra) -> Iterator[str]:
    """The URL of a database created for this session, every service's schema migrated."""
    database = f"telecast_t_{secrets.token_hex(4)}"
    url = create_database(infra.database_url, database)
    migrate_all(url)
    try:
        yield url
    finally:
        drop_database(infra.database_url, database)


@pytest.fixture(scope="session")
def nats_url(infra: Infra) -> str:
    return infra.nats_url


@pytest.fixture(scope="session")
async def namespace(nats_url: str) -> AsyncIterator[str]:
    """The TELECAST_NAMESPACE of this session; its JetStream streams go when it ends."""
    name = check_namespace(f"t{secrets.token_hex(4)}")
    try:
        yield name
    finally:
        await delete_streams(nats_url, f"{name.upper()}_")
