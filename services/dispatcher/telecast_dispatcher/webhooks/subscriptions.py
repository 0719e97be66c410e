"""Webhook subscriptions in PostgreSQL: create, read, change, delete, rotate the secret.

The target URL is judged (``TargetPolicy``) before anything is stored; the secret is made
here and answered only by ``create`` and ``rotate_secret``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from telecast_dispatcher.webhooks.errors import TargetNotAllowed, WebhookNotFound, parse_id
from telecast_dispatcher.webhooks.signing import new_secret
from telecast_dispatcher.webhooks.targets import (
    InvalidTarget,
    Resolve,
    TargetPolicy,
    TargetRefused,
    system_resolve,
)
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.messages import CommandMeta
from telecast_libs.contracts.views import Pagination
from telecast_libs.contracts.webhooks import (
    CreateWebhook,
    ListWebhooks,
    RotateWebhookSecret,
    UpdateWebhook,
    WebhookPage,
    WebhookView,
    WebhookWithSecret,
)
from telecast_libs.sealing import Sealer

_VIEW = (
    "id, url, events, campaign_ids, description, active, disabled_reason, disabled_at, "
    "consecutive_failures, failing_since, last_success_at, secret_rotated_at, created_by, "
    "created_at, updated_at"
)
_WITH_SECRET = f"{_VIEW}, secret, previous_secret_expires_at"


def masked(url: str) -> str:
    """The URL with every query value hidden: receivers often take a token there, and the
    API shows subscriptions to more people than should hold it."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = "&".join(
        f"{pair.partition('=')[0]}=***" if "=" in pair else "***" for pair in parts.query.split("&")
    )
    return urlunsplit(parts._replace(query=query))


def _view(row: Any) -> WebhookView:
    return WebhookView(
        id=str(row[0]),
        url=masked(row[1]),
        events=list(row[2]),
        campaign_ids=list(row[3]) if row[3] is not None else None,
        description=row[4],
        active=row[5],
        disabled_reason=row[6],
        disabled_at=row[7],
        consecutive_failures=row[8],
        failing_since=row[9],
        last_success_at=row[10],
        secret_rotated_at=row[11],
        created_by=row[12],
        created_at=row[13],
        updated_at=row[14],
    )


def _with_secret(row: Any, sealer: Sealer) -> WebhookWithSecret:
    view = _view(row)
    row = [*row[:15], sealer.open(row[15]), *row[16:]]
    return WebhookWithSecret(
        **{field: getattr(view, field) for field in view.__struct_fields__},
        secret=row[15],
        previous_secret_expires_at=row[16],
    )


def _actor(meta: CommandMeta) -> str:
    return meta.actor.email or meta.actor.id


def _unique(values: list[str] | None) -> list[str] | None:
    return list(dict.fromkeys(values)) if values is not None else None


class Subscriptions:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        policy: TargetPolicy,
        secret_grace_seconds: float,
        on_reactivated: Callable[[], None],
        sealer: Sealer,
        resolve: Resolve = system_resolve,
    ) -> None:
        self.sealer = sealer
        self.pool = pool
        self.policy = policy
        self.secret_grace = timedelta(seconds=secret_grace_seconds)
        self.on_reactivated = on_reactivated
        self.resolve = resolve

    async def check_target(self, url: str) -> None:
        try:
            await self.policy.check(url, self.resolve)
        except InvalidTarget as error:
            raise Problem(
                f"url: {error}",
                details=[{"field": "url", "source": "body", "message": str(error)}],
                code=ErrorCode.VALIDATION_ERROR,
            ) from None
        except TargetRefused as error:
            raise TargetNotAllowed(
                f"url: {error}", details=[{"field": "url", "source": "body"}]
            ) from None

    async def create(self, command: CreateWebhook) -> WebhookWithSecret:
        new = command.webhook
        await self.check_target(new.url)
        webhook_id = uuid.uuid4()
        if command.webhook_id is not None:
            webhook_id = parse_id(
                command.webhook_id,
                Problem("webhookId must be a UUID", code=ErrorCode.VALIDATION_ERROR),
            )
        actor = _actor(command.meta)
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    f"""
                    INSERT INTO dispatcher.webhook_subscriptions
                        (id, url, events, campaign_ids, description, active, secret,
                         disabled_reason, disabled_at, created_by, created_at, updated_at)
                    VALUES (%s, %s, %s, %s, %s, %s, %s, %s,
                            CASE WHEN %s THEN NULL ELSE now() END, %s, now(), now())
                    ON CONFLICT (id) DO NOTHING
                    RETURNING {_WITH_SECRET}
                    """,
                    (
                        webhook_id,
                        new.url,
                        _unique(list(new.events)),
                        _unique(new.campaign_ids),
                        new.description,
                        new.active,
                        self.sealer.seal(new_secret()),
                        None if new.active else f"deactivated by {actor}",
                        new.active,
                        actor,
                    ),
                )
            ).fetchone()
            if row is None:
                # The same create again (a retry with the same Idempotency-Key): its answer.
                row = await (
                    await conn.execute(
                        f"SELECT {_WITH_SECRET} FROM dispatcher.webhook_subscriptions "
                        "WHERE id = %s AND created_by = %s",
                        (webhook_id, actor),
                    )
                ).fetchone()
                if row is None:
                    raise Problem("a webhook with this id exists", code=ErrorCode.VALIDATION_ERROR)
        return _with_secret(row, self.sealer)

    async def page(self, query: ListWebhooks) -> WebhookPage:
        async with self.pool.connection() as conn:
            total = (
                await (
                    await conn.execute("SELECT count(*) FROM dispatcher.webhook_subscriptions")
                ).fetchone()
            )[0]
            cursor = await conn.execute(
                f"SELECT {_VIEW} FROM dispatcher.webhook_subscriptions "
                "ORDER BY created_at, id LIMIT %s OFFSET %s",
                (query.limit, (query.page - 1) * query.limit),
            )
            rows = await cursor.fetchall()
        return WebhookPage(
            webhooks=[_view(row) for row in rows],
            pagination=Pagination(
                page=query.page,
                limit=query.limit,
                total=total,
                pages=math.ceil(total / query.limit),
            ),
        )

    async def get(self, webhook_id: str) -> WebhookView:
        key = parse_id(webhook_id, WebhookNotFound(webhook_id))
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    f"SELECT {_VIEW} FROM dispatcher.webhook_subscriptions WHERE id = %s", (key,)
                )
            ).fetchone()
        if row is None:
            raise WebhookNotFound(webhook_id)
        return _view(row)

    async def update(self, command: UpdateWebhook) -> WebhookView:
        key = parse_id(command.webhook_id, WebhookNotFound(command.webhook_id))
        changes = command.changes
        if changes.url is not None:
            await self.check_target(changes.url)
        assignments: list[sql.Composable] = [sql.SQL("updated_at = now()")]
        values: list[Any] = []
        present = {
            "url": changes.url,
            "events": _unique(list(changes.events)) if changes.events is not None else None,
            "description": changes.description,
            # An empty list removes the filter: every campaign again.
            "campaign_ids": _unique(changes.campaign_ids or None),
        }
        for column, value in present.items():
            if getattr(changes, column) is not None:
                assignments.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
                values.append(value)
        async with self.pool.connection() as conn, conn.transaction():
            current = await (
                await conn.execute(
                    "SELECT active FROM dispatcher.webhook_subscriptions WHERE id = %s FOR UPDATE",
                    (key,),
                )
            ).fetchone()
            if current is None:
                raise WebhookNotFound(command.webhook_id)
            if changes.active is True and not current[0]:
                assignments.append(
                    sql.SQL(
                        "active = true, disabled_reason = NULL, disabled_at = NULL, "
                        "consecutive_failures = 0, failing_since = NULL"
                    )
                )
                # What waited while it was inactive goes now, in order.
                await conn.execute(
                    "UPDATE dispatcher.webhook_deliveries SET next_attempt_at = now() "
                    "WHERE subscription_id = %s AND status = 'pending'",
                    (key,),
                )
            elif changes.active is False and current[0]:
                assignments.append(
                    sql.SQL("active = false, disabled_reason = %s, disabled_at = now()")
                )
                values.append(f"deactivated by {_actor(command.meta)}")
            row = await (
                await conn.execute(
                    sql.SQL(
                        "UPDATE dispatcher.webhook_subscriptions SET {} WHERE id = %s RETURNING {}"
                    ).format(sql.SQL(", ").join(assignments), sql.SQL(_VIEW)),
                    [*values, key],
                )
            ).fetchone()
        if changes.active:
            self.on_reactivated()
        return _view(row)

    async def delete(self, webhook_id: str) -> None:
        key = parse_id(webhook_id, WebhookNotFound(webhook_id))
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "DELETE FROM dispatcher.webhook_subscriptions WHERE id = %s", (key,)
            )
        if cursor.rowcount == 0:
            raise WebhookNotFound(webhook_id)

    async def rotate_secret(self, command: RotateWebhookSecret) -> WebhookWithSecret:
        key = parse_id(command.webhook_id, WebhookNotFound(command.webhook_id))
        keep_previous = self.secret_grace > timedelta(0)
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    f"""
                    UPDATE dispatcher.webhook_subscriptions SET
                        previous_secret = CASE WHEN %(keep)s THEN secret END,
                        previous_secret_expires_at = CASE WHEN %(keep)s
                            THEN now() + %(grace)s END,
                        secret = %(secret)s,
                        secret_rotated_at = now(),
                        updated_at = now()
                    WHERE id = %(id)s
                    RETURNING {_WITH_SECRET}
                    """,
                    {
                        "keep": keep_previous,
                        "grace": self.secret_grace,
                        "secret": self.sealer.seal(new_secret()),
                        "id": key,
                    },
                )
            ).fetchone()
        if row is None:
            raise WebhookNotFound(command.webhook_id)
        return _with_secret(row, self.sealer)
