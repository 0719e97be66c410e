"""Contact requests over NATS: create, get, update, delete, list, opt-out, import batches, and
the dispatcher's "blocked" feedback, each answered from the contacts table.

Contact writes are not events: contacts are reference data, written in bulk at COPY speed
(an import of a million rows would be a million events to store, publish and project for no
reader that needs them). Campaigns see contacts when an audience is computed.
"""

from __future__ import annotations

from prometheus_client import Counter
from psycopg_pool import AsyncConnectionPool

from telecast_campaign.audience import contact_store, contact_upsert
from telecast_campaign.audience.endpoint import handles
from telecast_libs.contracts.contacts import (
    BatchUpserted,
    Contact,
    ContactDeleted,
    ContactPage,
    CreateContact,
    DeleteContact,
    GetContact,
    ImportContactsBatch,
    ListContacts,
    MarkContactBlocked,
    SetContactOptOut,
    UpdateContact,
)
from telecast_libs.contracts.messages import CommandMeta
from telecast_libs.log import get_logger

log = get_logger(__name__)

UPSERTED = Counter(
    "telecast_campaign_contact_upserts_total",
    "Imported rows landed in the contacts table, by outcome",
    ["outcome"],
)


def _actor(meta: CommandMeta) -> str:
    return meta.actor.email or meta.actor.id


@handles(CreateContact, "cmd")
async def create(pool: AsyncConnectionPool, request: CreateContact) -> Contact:
    async with pool.connection() as conn:
        contact = await contact_store.create(conn, request.contact)
    log.info(
        "contact.created",
        contact_id=contact.id,
        telegram_id=contact.telegram_id,
        actor=_actor(request.meta),
    )
    return contact


@handles(GetContact)
async def get(pool: AsyncConnectionPool, request: GetContact) -> Contact:
    async with pool.connection() as conn:
        return await contact_store.get(conn, request.contact_id)


@handles(ListContacts)
async def list_contacts(pool: AsyncConnectionPool, request: ListContacts) -> ContactPage:
    async with pool.connection() as conn:
        return await contact_store.list_page(conn, request)


@handles(UpdateContact, "cmd")
async def update(pool: AsyncConnectionPool, request: UpdateContact) -> Contact:
    async with pool.connection() as conn:
        contact = await contact_store.update(conn, request.contact_id, request.changes)
    log.info("contact.updated", contact_id=contact.id, actor=_actor(request.meta))
    return contact


@handles(DeleteContact, "cmd")
async def delete(pool: AsyncConnectionPool, request: DeleteContact) -> ContactDeleted:
    async with pool.connection() as conn:
        await contact_store.delete(conn, request.contact_id)
    log.info("contact.deleted", contact_id=request.contact_id, actor=_actor(request.meta))
    return ContactDeleted(id=request.contact_id)


@handles(SetContactOptOut, "cmd")
async def set_opt_out(pool: AsyncConnectionPool, request: SetContactOptOut) -> Contact:
    async with pool.connection() as conn:
        contact = await contact_store.set_opted_out(conn, request.contact_id, request.opted_out)
    log.info(
        "contact.opted_out" if request.opted_out else "contact.opted_in",
        contact_id=contact.id,
        actor=_actor(request.meta),
    )
    return contact


@handles(MarkContactBlocked, "cmd")
async def mark_blocked(pool: AsyncConnectionPool, request: MarkContactBlocked) -> Contact:
    async with pool.connection() as conn:
        contact = await contact_store.set_blocked(conn, request.telegram_id, request.blocked)
    log.info(
        "contact.blocked" if request.blocked else "contact.unblocked",
        contact_id=contact.id,
        telegram_id=request.telegram_id,
    )
    return contact


@handles(ImportContactsBatch, "cmd")
async def import_batch(pool: AsyncConnectionPool, request: ImportContactsBatch) -> BatchUpserted:
    if not request.rows:
        return BatchUpserted(created=0, updated=0)
    async with pool.connection() as conn:
        created, updated = await contact_upsert.upsert(conn, request.rows)
    UPSERTED.labels("created").inc(created)
    UPSERTED.labels("updated").inc(updated)
    log.debug("contact.batch_upserted", rows=len(request.rows), created=created, updated=updated)
    return BatchUpserted(created=created, updated=updated)
