"""Errors of the projection service."""

from __future__ import annotations


class MissingEvent(Exception):
    """An event arrived whose predecessor was never applied: the stream lost a message.

    The follower stops applying and retries from its checkpoint; if the message is really
    gone, ``python -m telecast_campaign republish`` publishes it again from PostgreSQL.
    """
