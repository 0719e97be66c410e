"""The delivery log: each delivery with its attempts, test events and redeliveries."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from telecast_dispatcher.webhooks import lanes, metrics
from telecast_dispatcher.webhooks.errors import (
    DeliveryNotFound,
    DeliveryPending,
    WebhookNotFound,
    parse_id,
)
from telecast_dispatcher.webhooks.payload import body_of_test_event
from telecast_libs.contracts.views import Pagination
from telecast_libs.contracts.webhooks import (
    TEST_EVENT_TYPE,
    DeliveryAttempt,
    DeliveryPage,
    DeliveryStatus,
    DeliveryView,
    ListDeliveries,
    RedeliverWebhook,
    SendTestEvent,
)

_DELIVERY = (
    "id, subscription_id, event_id, event_type, campaign_id, status, attempts, "
    "last_status_code, last_error, last_latency_ms, next_attempt_at, created_at, finished_at"
)


def _delivery_view(row: Any, attempts: list[DeliveryAttempt]) -> DeliveryView:
    return DeliveryView(
        id=str(row[0]),
        webhook_id=str(row[1]),
        event_id=row[2],
        event_type=row[3],
        campaign_id=row[4],
        status=DeliveryStatus(row[5]),
        attempt_count=row[6],
        last_status_code=row[7],
        last_error=row[8],
        last_latency_ms=row[9],
        next_attempt_at=row[10],
        created_at=row[11],
        finished_at=row[12],
        attempts=attempts,
    )


class DeliveryLog:
    def __init__(self, pool: AsyncConnectionPool, on_enqueued: Callable[[], None]) -> None:
        self.pool = pool
        self.on_enqueued = on_enqueued

    async def send_test(self, command: SendTestEvent) -> DeliveryView:
        key = parse_id(command.webhook_id, WebhookNotFound(command.webhook_id))
        delivery_id = uuid.uuid4()
        event_id = str(uuid.uuid4())
        body = body_of_test_event(event_id, command.webhook_id, datetime.now(UTC))
        async with self.pool.connection() as conn:
            try:
                row = await (
                    await conn.execute(
                        f"""
                        INSERT INTO dispatcher.webhook_deliveries
                            (id, subscription_id, event_id, event_type, kind, lane, seq, body,
                             correlation_id, status, head, round_started_at, next_attempt_at,
                             created_at)
                        VALUES (%s, %s, %s, %s, 'test', %s, 0, %s, %s, 'pending', true,
                                now(), now(), now())
                        RETURNING {_DELIVERY}
                        """,
                        (
                            delivery_id,
                            key,
                            event_id,
                            TEST_EVENT_TYPE,
                            f"test:{delivery_id}",
                            body,
                            command.meta.correlation_id,
                        ),
                    )
                ).fetchone()
            except psycopg.errors.ForeignKeyViolation:
                raise WebhookNotFound(command.webhook_id) from None
        metrics.ENQUEUED.labels("test").inc()
        self.on_enqueued()
        return _delivery_view(row, [])

    async def redeliver(self, command: RedeliverWebhook) -> DeliveryView:
        """Send a finished delivery again, from a fresh retry schedule (same event id, so
        that a receiver that deduplicates still can)."""
        key = parse_id(command.webhook_id, WebhookNotFound(command.webhook_id))
        missing = DeliveryNotFound(command.webhook_id)
        delivery = parse_id(command.delivery_id, missing)
        async with self.pool.connection() as conn, conn.transaction():
            await self._require(conn, key, command.webhook_id)
            found = await (
                await conn.execute(
                    "SELECT status, lane FROM dispatcher.webhook_deliveries "
                    "WHERE id = %s AND subscription_id = %s",
                    (delivery, key),
                )
            ).fetchone()
            if found is None:
                raise missing
            if found[0] == DeliveryStatus.PENDING:
                raise DeliveryPending(
                    "this delivery is still being attempted; redeliver it once it succeeded "
                    "or was given up",
                    details={"status": found[0]},
                )
            # It joins its lane's queue: sent now if the lane is idle, else in seq order.
            lane = [(key, found[1])]
            await lanes.lock(conn, lane)
            updated = await conn.execute(
                "UPDATE dispatcher.webhook_deliveries SET status = 'pending', head = false, "
                "round_attempts = 0, round_started_at = now(), next_attempt_at = now(), "
                "finished_at = NULL WHERE id = %s AND status <> 'pending'",
                (delivery,),
            )
            if updated.rowcount == 0:
                raise DeliveryPending(
                    "this delivery is already pending", details={"status": "pending"}
                )
            await lanes.promote(conn, lane)
        self.on_enqueued()
        return await self._load_delivery(key, delivery, missing)

    async def deliveries(self, query: ListDeliveries) -> DeliveryPage:
        key = parse_id(query.webhook_id, WebhookNotFound(query.webhook_id))
        status = query.status.value if query.status is not None else None
        async with self.pool.connection() as conn:
            await self._require(conn, key, query.webhook_id)
            total = (
                await (
                    await conn.execute(
                        "SELECT count(*) FROM dispatcher.webhook_deliveries "
                        "WHERE subscription_id = %s AND (%s::text IS NULL OR status = %s)",
                        (key, status, status),
                    )
                ).fetchone()
            )[0]
            rows = await (
                await conn.execute(
                    f"SELECT {_DELIVERY} FROM dispatcher.webhook_deliveries "
                    "WHERE subscription_id = %s AND (%s::text IS NULL OR status = %s) "
                    "ORDER BY created_at DESC, seq DESC, id LIMIT %s OFFSET %s",
                    (key, status, status, query.limit, (query.page - 1) * query.limit),
                )
            ).fetchall()
            attempts = await self._attempts(conn, [row[0] for row in rows])
        return DeliveryPage(
            deliveries=[_delivery_view(row, attempts.get(row[0], [])) for row in rows],
            pagination=Pagination(
                page=query.page,
                limit=query.limit,
                total=total,
                pages=math.ceil(total / query.limit),
            ),
        )

    async def delivery(self, webhook_id: str, delivery_id: str) -> DeliveryView:
        key = parse_id(webhook_id, WebhookNotFound(webhook_id))
        missing = DeliveryNotFound(webhook_id)
        return await self._load_delivery(key, parse_id(delivery_id, missing), missing, webhook_id)

    async def _load_delivery(
        self,
        key: uuid.UUID,
        delivery: uuid.UUID,
        missing: DeliveryNotFound,
        webhook_id: str | None = None,
    ) -> DeliveryView:
        async with self.pool.connection() as conn:
            if webhook_id is not None:
                await self._require(conn, key, webhook_id)
            row = await (
                await conn.execute(
                    f"SELECT {_DELIVERY} FROM dispatcher.webhook_deliveries "
                    "WHERE id = %s AND subscription_id = %s",
                    (delivery, key),
                )
            ).fetchone()
            if row is None:
                raise missing
            attempts = await self._attempts(conn, [delivery])
        return _delivery_view(row, attempts.get(delivery, []))

    async def _attempts(
        self, conn: psycopg.AsyncConnection, ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, list[DeliveryAttempt]]:
        if not ids:
            return {}
        cursor = await conn.execute(
            "SELECT delivery_id, attempt, started_at, latency_ms, status_code, error, "
            "response_excerpt, next_attempt_at FROM dispatcher.webhook_attempts "
            "WHERE delivery_id = ANY(%s) ORDER BY delivery_id, attempt",
            (ids,),
        )
        found: dict[uuid.UUID, list[DeliveryAttempt]] = {}
        for row in await cursor.fetchall():
            found.setdefault(row[0], []).append(
                DeliveryAttempt(
                    attempt=row[1],
                    started_at=row[2],
                    latency_ms=row[3],
                    status_code=row[4],
                    error=row[5],
                    response_excerpt=row[6],
                    next_attempt_at=row[7],
                )
            )
        return found

    async def _require(self, conn: psycopg.AsyncConnection, key: uuid.UUID, raw: str) -> None:
        row = await (
            await conn.execute(
                "SELECT 1 FROM dispatcher.webhook_subscriptions WHERE id = %s", (key,)
            )
        ).fetchone()
        if row is None:
            raise WebhookNotFound(raw)
