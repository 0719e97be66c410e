"""A deployment made before migrations is adopted by its first ``migrate``: nothing is lost,
every schema ends as a new deployment's, and each service then starts on it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
import psycopg
from support.catalog import describe

from telecast_campaign.bootstrap import build_application
from telecast_devenv.platform import MODULES
from telecast_devenv.schemas import history, migrate_all
from telecast_libs.contracts.events import event_from
from telecast_libs.contracts.messages import CreateCampaign
from telecast_libs.migrations import current_revision, require_current
from telecast_projection import campaign_view
from telecast_projection.bootstrap import prepare_database

META = {"actor": {"id": "op-1", "email": "op@example.com"}, "correlationId": "c-1"}


def _create(name: str) -> CreateCampaign:
    return msgspec.convert(
        {"kind": "campaign.create", "meta": META, "content": {"name": name, "type": "message"}},
        CreateCampaign,
    )


async def test_a_database_made_before_migrations_keeps_its_data_and_gets_the_new_schema(
    legacy_database: str, new_database: Callable[[], str]
) -> None:
    # What a running deployment holds: a campaign in the event store (written by the
    # application as it was), the relay's position, a contact, an operator, a delivery, a
    # campaign in the read model.
    app = build_application(legacy_database)
    (created,) = app.handle([_create("Before the upgrade")])
    app.close()
    contact_id = uuid.uuid4()
    with psycopg.connect(legacy_database, autocommit=True) as conn:
        conn.execute("UPDATE campaign.relay_position SET position = 1")
        conn.execute(
            "INSERT INTO campaign.contacts (id, telegram_id, first_name) VALUES (%s, 42, 'Ann')",
            (contact_id,),
        )
        conn.execute(
            "INSERT INTO gateway.operators (id, email, name, role, password_hash, disabled) "
            "VALUES (%s, 'ops@example.com', 'Ops', 'manager', 'h', true)",
            (uuid.uuid4(),),
        )
        conn.execute(
            "INSERT INTO dispatcher.deliveries (execution_id, contact_id, step, campaign_id, "
            "item_no, telegram_id, chat_kind, message_id, state, cost) "
            "VALUES (%s, %s, 0, %s, 0, 42, 'private', 'm1', 'sent', 0.5)",
            (uuid.uuid4(), contact_id, created.aggregate_id),
        )
        conn.execute("INSERT INTO projection.read_model_version VALUES (8)")
    async with await psycopg.AsyncConnection.connect(legacy_database, autocommit=True) as conn:
        await campaign_view.apply(
            conn,
            event_from(
                "campaign.created",
                id=str(uuid.uuid4()),
                aggregate_id=created.aggregate_id,
                aggregate_version=1,
                occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
                position=1,
                data={
                    "campaign": {"name": "Before the upgrade", "type": "message"},
                    "createdBy": "op",
                },
            ),
        )

    migrate_all(legacy_database)

    for module in MODULES.values():
        require_current(legacy_database, history(module))
    with psycopg.connect(legacy_database) as conn:
        assert conn.execute("SELECT position FROM campaign.relay_position").fetchone()[0] == 1
        assert conn.execute(
            "SELECT first_name FROM campaign.contacts WHERE search_vector @@ 'ann:*'"
        ).fetchone() == ("Ann",)
        assert conn.execute(
            "SELECT email, disabled, credentials_version FROM gateway.operators"
        ).fetchone() == ("ops@example.com", True, 1)
        assert conn.execute("SELECT state, cost FROM dispatcher.deliveries").fetchone() == (
            "sent",
            0.5,
        )
    # The projection starts on it without a rebuild: its read model is still there.
    await prepare_database(legacy_database)
    async with await psycopg.AsyncConnection.connect(legacy_database) as conn:
        detail = await campaign_view.get(conn, created.aggregate_id)
        assert detail is not None and detail.name == "Before the upgrade"
    # The campaign service reads the campaign it stored before, and goes on from there.
    app = build_application(legacy_database)
    try:
        (second,) = app.handle([_create("After the upgrade")])
        assert second.position == created.position + 1
        assert app.repository.get(uuid.UUID(created.aggregate_id)).version == 1
    finally:
        app.close()

    # And the schemas are those a new deployment gets from the migrations.
    fresh = new_database()
    migrate_all(fresh)
    await prepare_database(fresh)
    assert describe(legacy_database) == describe(fresh)


def test_a_second_migrate_changes_nothing(legacy_database: str) -> None:
    migrate_all(legacy_database)
    before = describe(legacy_database)
    revisions = {m: current_revision(legacy_database, history(m)) for m in MODULES.values()}
    migrate_all(legacy_database)
    assert describe(legacy_database) == before
    assert {m: current_revision(legacy_database, history(m)) for m in MODULES.values()} == (
        revisions
    )
