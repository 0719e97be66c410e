"""NATS subject and JetStream stream names, in one place.

Every name is derived from a namespace (``TELECAST_NAMESPACE``, default ``telecast``) so that
test sessions and a running ``make run`` share one NATS server without seeing each other.
"""

from __future__ import annotations

import re

import msgspec

_NAMESPACE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def check_namespace(namespace: str) -> str:
    """Return the namespace if it is usable in subjects and stream names, else raise."""
    if not _NAMESPACE.match(namespace):
        raise ValueError(
            "a namespace is 1-32 characters of lowercase letters, digits and '_', "
            f"starting with a letter; got {namespace!r}"
        )
    return namespace


class Subjects(msgspec.Struct, frozen=True):
    """The subjects and streams of one namespace."""

    namespace: str

    # JetStream: the campaign service's events, published by its outbox relay.
    @property
    def campaign_events_stream(self) -> str:
        return f"{self.namespace.upper()}_CAMPAIGN_EVENTS"

    @property
    def campaign_events(self) -> str:
        """Wildcard covering every campaign event subject."""
        return f"{self.namespace}.events.campaign.>"

    def campaign_event(self, event_type: str) -> str:
        return f"{self.namespace}.events.campaign.{event_type}"

    # Request/reply: commands to the campaign service, queries to the projection service.
    def campaign_command(self, name: str) -> str:
        return f"{self.namespace}.cmd.campaign.{name}"

    @property
    def campaign_commands(self) -> str:
        return f"{self.namespace}.cmd.campaign.*"

    def campaign_query(self, name: str) -> str:
        return f"{self.namespace}.query.campaign.{name}"

    @property
    def campaign_queries(self) -> str:
        return f"{self.namespace}.query.campaign.*"

    @property
    def streams(self) -> tuple[str, ...]:
        """Every stream of this namespace (tests delete them when they end)."""
        return (self.campaign_events_stream,)

    def durable(self, consumer: str) -> str:
        """A durable consumer name, unique per namespace."""
        return f"{self.namespace}_{consumer}"


def subjects_for(namespace: str) -> Subjects:
    return Subjects(check_namespace(namespace))
