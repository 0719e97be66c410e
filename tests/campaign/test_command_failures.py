"""A command that fails on a bug answers INTERNAL_ERROR alone; an outage fails its batch
with SERVICE_UNAVAILABLE (retry). The application is a stand-in of our own: the point is how
the endpoint answers what it raises."""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg

from telecast_campaign.endpoint import CommandEndpoint
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.messages import Command, CommandResult, CreateCampaign

META = {"actor": {"id": "op-1"}, "correlationId": "c-1"}


def create(name: str) -> CreateCampaign:
    return msgspec.convert(
        {"kind": "campaign.create", "meta": META, "content": {"name": name, "type": "message"}},
        CreateCampaign,
    )


class Application:
    """Raises ``error`` for any batch holding a campaign named ``poison``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def handle(self, commands: list[Command]) -> list[Any]:
        if any(c.content.name == "poison" for c in commands):  # type: ignore[attr-defined]
            raise self.error
        return [
            msgspec.convert(
                {"aggregateId": c.content.name, "version": 1, "position": 1},  # type: ignore[attr-defined]
                CommandResult,
            )
            for c in commands
        ]


def endpoint(error: Exception) -> CommandEndpoint:
    return CommandEndpoint(Application(error), None, None, lambda: None, 10, None)  # type: ignore[arg-type]


def batch(*names: str) -> list[tuple[Command, Any, float]]:
    class Msg:
        headers = None

    return [(create(name), Msg(), 0.0) for name in names]


async def test_a_bug_fails_only_the_command_that_meets_it_as_an_internal_error() -> None:
    error = KeyError("segments")
    outcomes = await endpoint(error)._failed(batch("a", "poison", "b"), error)
    assert isinstance(outcomes[0], CommandResult) and isinstance(outcomes[2], CommandResult)
    assert isinstance(outcomes[1], Problem)
    assert outcomes[1].code == ErrorCode.INTERNAL_ERROR


async def test_an_outage_fails_the_whole_batch_as_unavailable() -> None:
    error = psycopg.OperationalError("connection refused")
    outcomes = await endpoint(error)._failed(batch("a", "poison"), error)
    assert [o.code for o in outcomes] == [ErrorCode.SERVICE_UNAVAILABLE] * 2  # type: ignore[union-attr]
