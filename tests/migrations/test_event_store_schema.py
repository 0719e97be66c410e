"""The event store's tables are the campaign schema's first migration, written as the
eventsourcing library makes them. When an upgrade of the library would make them otherwise,
this fails: the change is then a new migration of the campaign schema."""

from __future__ import annotations

from support.catalog import describe

from telecast_campaign.application import Campaigns
from telecast_campaign.bootstrap import DECIDERS, SCHEMA
from telecast_campaign.migrations import HISTORY
from telecast_libs.migrations import migrate
from telecast_libs.pg import eventsourcing_env


def test_the_library_would_create_nothing_the_migrations_did_not(empty_database: str) -> None:
    migrate(empty_database, HISTORY)
    migrated = describe(empty_database, (SCHEMA,))

    # What the services did at start before migrations: the library makes its tables.
    env = {**eventsourcing_env(empty_database, SCHEMA), "CREATE_TABLE": "y"}
    app = Campaigns(DECIDERS, env=env)
    app.close()

    assert describe(empty_database, (SCHEMA,)) == migrated
