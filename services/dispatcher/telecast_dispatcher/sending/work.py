"""A work item: a batch of an execution's recipients on the JetStream work queue.

The item names its recipients as a range of the execution's audience (contact ids in
``(after, upto]``, keyset order); the replica that takes it reads those contacts from the
campaign service. So the message is small, any item can be queued again from its row in
``dispatcher.work_items``, and a contact who opted out after planning is not sent to.
"""

from __future__ import annotations

from typing import Any

from nats.js import JetStreamContext

from telecast_libs.contracts.base import Wire, encode
from telecast_libs.subjects import Subjects

PRIORITIES = ("high", "normal", "low")


class WorkItem(Wire, kw_only=True):
    execution_id: str
    campaign_id: str
    item_no: int
    generation: int
    after: str | None = None
    upto: str
    recipients: int
    priority: str


def message_id(item: WorkItem) -> str:
    # A new generation (the item queued again on resume) is a new message; a re-publish of
    # the same generation is a duplicate JetStream drops.
    return f"{item.execution_id}:{item.item_no}:{item.generation}"


async def publish(js: JetStreamContext, subjects: Subjects, item: WorkItem) -> None:
    await js.publish(
        subjects.work(item.priority), encode(item), headers={"Nats-Msg-Id": message_id(item)}
    )


def message(subjects: Subjects, item: WorkItem) -> tuple[str, bytes, dict[str, str]]:
    """(subject, payload, headers) of an item, for ``publish_pipelined``."""
    return subjects.work(item.priority), encode(item), {"Nats-Msg-Id": message_id(item)}


def from_row(row: Any) -> WorkItem:
    """From (execution_id, campaign_id, item_no, generation, after_id, upto_id, recipients,
    priority)."""
    execution_id, campaign_id, item_no, generation, after, upto, recipients, priority = row
    return WorkItem(
        execution_id=str(execution_id),
        campaign_id=str(campaign_id),
        item_no=item_no,
        generation=generation,
        after=str(after) if after is not None else None,
        upto=str(upto),
        recipients=recipients,
        priority=priority,
    )


# The SELECT list ``from_row`` reads, for queries joining work_items (w) and executions (e).
ITEM_COLUMNS = (
    "w.execution_id, e.campaign_id, w.item_no, w.generation, w.after_id, w.upto_id, "
    "w.recipients, e.priority"
)
