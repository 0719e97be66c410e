"""The campaign service's eventsourcing Application: the only API of the write side.

It holds every aggregate of the service (campaigns, and the segments and templates their
audience and content need) in one event store, so one notification log orders them all and
one relay publishes them. Commands are decided in batches: each command is applied to its
aggregate by the decider of its type (the table is the service's bootstrap's), then all new
events are saved in one transaction. The event store serializes writers with a table lock,
so one commit for many commands is what lets throughput grow with concurrency.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from telecast_libs.contracts.base import to_builtins
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.messages import Command, CommandResult

A = TypeVar("A", bound=Aggregate)


class VersionConflict(Problem):
    code = ErrorCode.VERSION_CONFLICT


Outcome = CommandResult | Problem


@dataclass
class Decision:
    """What one command did: the aggregate it created or changed, at which version."""

    aggregate: Aggregate
    version: int
    name: str | None = None
    status: str | None = None
    execution_id: str | None = None
    # When a scheduled execution starts.
    scheduled_at: datetime | None = None


class Workspace:
    """The aggregates a batch has touched so far, as its earlier commands left them."""

    def __init__(self, app: Campaigns, now: datetime) -> None:
        self.app = app
        self.now = now
        self.touched: dict[uuid.UUID, Aggregate] = {}
        # Audience counts made for this batch, by what was counted: a burst of campaigns
        # with the same audience is counted once.
        self.counted: dict[Any, int | None] = {}

    def get(self, kind: type[A], aggregate_id: str, not_found: type[Problem]) -> A:
        """The aggregate, or ``not_found`` raised when it does not exist or was deleted."""
        noun = kind.__name__.lower()
        try:
            key = uuid.UUID(aggregate_id)
        except ValueError:
            raise not_found(f"{noun} {aggregate_id} does not exist") from None
        aggregate = self.touched.get(key)
        if aggregate is None:
            try:
                aggregate = self.app.repository.get(key)
            except AggregateNotFoundError:
                raise not_found(f"{noun} {aggregate_id} does not exist") from None
        if not isinstance(aggregate, kind):
            raise not_found(f"{noun} {aggregate_id} does not exist")
        if getattr(aggregate, "deleted", False):
            raise not_found(f"{noun} {aggregate_id} was deleted")
        return aggregate

    def find(self, kind: type[A], aggregate_id: str | None) -> A | None:
        """The aggregate if it exists (for creations retried with the id they chose)."""
        if aggregate_id is None:
            return None
        try:
            return self.get(kind, aggregate_id, Problem)
        except Problem:
            return None


# Decides one command: applies it to its aggregate within the batch's workspace (the
# command's metadata as builtins, for the events), or raises a Problem.
Decider = Callable[[Workspace, Any, dict[str, Any]], Decision]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Campaigns(Application[uuid.UUID]):
    name = "campaigns"
    clock: Callable[[], datetime] = staticmethod(_utc_now)
    # Counts audiences for the events that carry their size (the service's bootstrap sets
    # it: audience.selection.ContactCounter); None counts nothing.
    contact_counter: Any = None

    def __init__(self, deciders: Mapping[type, Decider], **kwargs: Any) -> None:
        """``deciders``: the function that decides each command type (the service's
        bootstrap builds the table)."""
        super().__init__(**kwargs)
        self.deciders = deciders

    def handle(self, commands: list[Command]) -> list[Outcome]:
        """Decide and save a batch of commands; one outcome per command, in order."""
        workspace = Workspace(self, self.clock())
        decided: list[Decision | Problem] = []
        for command in commands:
            try:
                decide = self.deciders[type(command)]
                decision = decide(workspace, command, to_builtins(command.meta))
            except Problem as problem:
                decided.append(problem)
                continue
            workspace.touched[decision.aggregate.id] = decision.aggregate
            decided.append(decision)
        recordings = []
        if any(aggregate.pending_events for aggregate in workspace.touched.values()):
            try:
                recordings = self.save(*workspace.touched.values())
            except IntegrityError:
                # Another writer (a second replica, the scheduler) saved one of these
                # aggregates first. Alone, a command that loses the race is a conflict; in a
                # batch, retry each one alone so that only the real losers fail.
                if len(commands) == 1:
                    return [VersionConflict("changed concurrently by another command; retry")]
                return [outcome for command in commands for outcome in self.handle([command])]
        positions = {
            (r.domain_event.originator_id, r.domain_event.originator_version): r.notification.id
            for r in recordings
        }
        return [self._outcome(item, positions) for item in decided]

    def _outcome(
        self, item: Decision | Problem, positions: dict[tuple[uuid.UUID, int], int]
    ) -> Outcome:
        if isinstance(item, Problem):
            return item
        aggregate = item.aggregate
        position = positions.get((aggregate.id, item.version))
        if position is None:
            # Nothing was recorded for this command (a retried creation): any position at or
            # after the aggregate's last event will do for a reader.
            position = self.recorder.max_notification_id() or 0
        return CommandResult(
            aggregate_id=str(aggregate.id),
            version=item.version,
            position=position,
            status=item.status,
            name=item.name,
            occurred_at=aggregate.modified_on,
            execution_id=item.execution_id,
            scheduled_at=item.scheduled_at,
        )
