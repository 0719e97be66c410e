"""The campaign Application against a real PostgreSQL event store."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import get_args

import msgspec
import pytest

from telecast_campaign.application import Campaigns
from telecast_campaign.bootstrap import DECIDERS, build_application
from telecast_libs.contracts.errors import Problem
from telecast_libs.contracts.messages import (
    Command,
    CommandResult,
    CreateCampaign,
    DeleteCampaign,
    UpdateCampaign,
)

META = {"actor": {"id": "op-1", "email": "op@example.com"}, "correlationId": "c-1"}


def create(name: str) -> CreateCampaign:
    return msgspec.convert(
        {"kind": "campaign.create", "meta": META, "content": {"name": name, "type": "message"}},
        CreateCampaign,
    )


def update(campaign_id: str, expected: int | None = None, **changes: object) -> UpdateCampaign:
    return msgspec.convert(
        {
            "kind": "campaign.update",
            "meta": META,
            "campaignId": campaign_id,
            "changes": changes,
            "expectedVersion": expected,
        },
        UpdateCampaign,
    )


@pytest.fixture(scope="module")
def app(database_url: str) -> Iterator[Campaigns]:
    application = build_application(database_url)
    yield application
    application.close()


def test_a_batch_is_one_transaction_with_consecutive_positions(app: Campaigns) -> None:
    outcomes = app.handle([create(f"batch {i}") for i in range(10)])
    assert all(isinstance(o, CommandResult) for o in outcomes)
    positions = [o.position for o in outcomes]
    assert positions == list(range(positions[0], positions[0] + 10))


def test_commands_on_one_campaign_in_one_batch_apply_in_order(app: Campaigns) -> None:
    (created,) = app.handle([create("ordered")])
    cid = created.aggregate_id
    outcomes = app.handle(
        [
            update(cid, expected=1, name="second"),
            update(cid, expected=1, name="stale"),  # refused: version 2 by now
            update(cid, expected=2, name="third"),
            msgspec.convert(
                {"kind": "campaign.delete", "meta": META, "campaignId": cid}, DeleteCampaign
            ),
            update(cid, name="after delete"),
        ]
    )
    assert [o.version if isinstance(o, CommandResult) else o.code for o in outcomes] == [
        2,
        "PRECONDITION_FAILED",
        3,
        4,
        "CAMPAIGN_NOT_FOUND",
    ]
    assert app.repository.get(uuid.UUID(cid)).deleted


def test_a_refused_command_does_not_stop_the_rest_of_its_batch(app: Campaigns) -> None:
    outcomes = app.handle([create("ok 1"), update(str(uuid.uuid4()), name="x"), create("ok 2")])
    assert isinstance(outcomes[0], CommandResult)
    assert isinstance(outcomes[1], Problem) and outcomes[1].code == "CAMPAIGN_NOT_FOUND"
    assert isinstance(outcomes[2], CommandResult)


def test_two_writers_racing_on_one_campaign_one_wins(app: Campaigns, database_url: str) -> None:
    (created,) = app.handle([create("raced")])
    other = build_application(database_url)
    try:
        # Both load version 1, then save: the second save conflicts on the version.
        mine = app.repository.get(uuid.UUID(created.aggregate_id))
        theirs = other.repository.get(uuid.UUID(created.aggregate_id))
        changes = update(created.aggregate_id, name="x").changes
        mine.update(changes, meta=META)
        theirs.update(changes, meta=META)
        app.save(mine)
        from eventsourcing.persistence import IntegrityError

        with pytest.raises(IntegrityError):
            other.save(theirs)
        # Through handle(), a lost race is answered, not raised.
        stale_copy = other.repository.get(uuid.UUID(created.aggregate_id))
        assert stale_copy.version == 2
    finally:
        other.close()


def test_a_create_repeated_with_its_id_answers_the_first_one(app: Campaigns) -> None:
    chosen = str(uuid.uuid4())
    command = msgspec.convert(
        {
            "kind": "campaign.create",
            "meta": META,
            "content": {"name": "once", "type": "message"},
            "campaignId": chosen,
        },
        CreateCampaign,
    )
    (first,) = app.handle([command])
    (again,) = app.handle([command])
    both = app.handle([command, command])
    assert {first.aggregate_id, again.aggregate_id} | {o.aggregate_id for o in both} == {chosen}
    assert app.repository.get(uuid.UUID(chosen)).version == 1


def test_every_command_the_service_takes_has_its_decider() -> None:
    """A command type added to the contracts without a decider in the bootstrap's table
    would answer every such request with an internal error."""
    assert set(DECIDERS) == set(get_args(Command))
