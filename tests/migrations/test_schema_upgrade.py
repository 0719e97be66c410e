"""A deployment at an older migration, with data in it, upgraded to the newest keeps its data,
and what the newer code reads of it works: operators log in, contacts are found by name."""

from __future__ import annotations

import uuid

import psycopg
from argon2 import PasswordHasher

from telecast_campaign.migrations import HISTORY as CAMPAIGN
from telecast_gateway.migrations import HISTORY as GATEWAY
from telecast_gateway.operators import OperatorStore
from telecast_libs.migrations import current_revision, migrate, require_current
from telecast_libs.pg import open_pool


async def test_operators_made_at_the_first_migration_log_in_after_the_upgrade(
    empty_database: str,
) -> None:
    migrate(empty_database, GATEWAY, to="0001")
    operator_id = uuid.uuid4()
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO gateway.operators (id, email, name, role, password_hash) "
            "VALUES (%s, 'ann@example.com', 'Ann', 'manager', %s)",
            (operator_id, PasswordHasher().hash("correct horse battery")),
        )
        conn.execute(
            "INSERT INTO gateway.refresh_tokens (token_hash, family_id, operator_id, expires_at) "
            "VALUES ('\\x01', %s, %s, now() + interval '1 day')",
            (uuid.uuid4(), operator_id),
        )

    assert migrate(empty_database, GATEWAY) == ("0001", GATEWAY.head())

    require_current(empty_database, GATEWAY)
    pool = await open_pool(empty_database, max_size=1, name="test-upgrade")
    try:
        account = await OperatorStore(pool, 3600).authenticate(
            "ann@example.com", "correct horse battery"
        )
    finally:
        await pool.close()
    assert account is not None
    assert (account.id, account.role) == (str(operator_id), "manager")
    # The columns the upgrade added hold what an operator made before them must have.
    assert (account.disabled, account.must_change_password, account.credentials_version) == (
        False,
        False,
        1,
    )
    with psycopg.connect(empty_database) as conn:
        assert conn.execute("SELECT count(*) FROM gateway.refresh_tokens").fetchone() == (1,)


def test_contacts_made_at_the_first_migration_are_found_by_name_after_the_upgrade(
    empty_database: str,
) -> None:
    migrate(empty_database, CAMPAIGN, to="0001")
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO campaign.contacts (id, telegram_id, username, first_name, last_name) "
            "VALUES (%s, 7, 'jane_doe', 'Jane', 'Doe')",
            (uuid.uuid4(),),
        )
        conn.execute("UPDATE campaign.relay_position SET position = 12")

    migrate(empty_database, CAMPAIGN)

    assert current_revision(empty_database, CAMPAIGN) == CAMPAIGN.head()
    with psycopg.connect(empty_database, autocommit=True) as conn:
        found = conn.execute(
            "SELECT telegram_id FROM campaign.contacts "
            "WHERE search_vector @@ to_tsquery('simple', 'jan:* & do:*')"
        ).fetchall()
        assert found == [(7,)]
        # Imports copy contacts in without an id: PostgreSQL gives them one now.
        conn.execute("INSERT INTO campaign.contacts (telegram_id) VALUES (8)")
        assert conn.execute("SELECT count(*) FROM campaign.contacts").fetchone() == (2,)
        assert conn.execute("SELECT position FROM campaign.relay_position").fetchone() == (12,)
