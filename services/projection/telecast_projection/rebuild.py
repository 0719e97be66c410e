"""``python -m telecast_projection rebuild``: drop the read models and replay the events.

The command marks the read model as outdated (``read_model_version`` = -1) and tells every
projection replica over NATS (``<ns>.projection.rebuild``). Each replica stops its
followers and prepares the database again: the first one, under the schema lock, drops the
read models and their checkpoints; then the followers replay both streams from their first
message. Queries answer from the tables as they fill. With no replica running, the next
one to start rebuilds.

The streams must still hold their whole history. If one was trimmed (its first message is
not the first ever published), the command says so and stops: publish the history again
from PostgreSQL first (``python -m telecast_campaign republish --from-position 1`` and
``python -m telecast_dispatcher republish-deliveries --execution ID``); events the stream
then holds twice count once.
"""

from __future__ import annotations

import psycopg
from nats.js.errors import NotFoundError

from telecast_libs import nats as tnats
from telecast_libs.subjects import Subjects, subjects_for
from telecast_projection.settings import ProjectionSettings

OUTDATED = -1


def rebuild_subject(subjects: Subjects) -> str:
    return f"{subjects.namespace}.projection.rebuild"


async def trimmed_streams(settings: ProjectionSettings) -> list[str]:
    """The streams whose history no longer starts at their first message."""
    subjects = subjects_for(settings.telecast_namespace)
    nc = await tnats.connect(settings, name="telecast-projection-rebuild")
    try:
        js = nc.jetstream()
        trimmed = []
        for stream in (subjects.campaign_events_stream, subjects.delivery_events_stream):
            try:
                info = await js.stream_info(stream)
            except NotFoundError:
                continue
            if info.state.first_seq > 1 and info.state.messages > 0:
                trimmed.append(f"{stream} starts at message {info.state.first_seq}")
        return trimmed
    finally:
        await nc.close()


async def request_rebuild(settings: ProjectionSettings) -> None:
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM projection.read_model_version")
        conn.execute("INSERT INTO projection.read_model_version VALUES (%s)", (OUTDATED,))
    subjects = subjects_for(settings.telecast_namespace)
    nc = await tnats.connect(settings, name="telecast-projection-rebuild")
    try:
        await nc.publish(rebuild_subject(subjects), b"")
        await nc.flush()
    finally:
        await nc.close()
