"""One HTTP attempt of one delivery: sign, POST, and report what the receiver said.

Redirects are not followed (a redirect could lead anywhere, including inside the network);
at most ``EXCERPT_BYTES`` of the answer are read and kept.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp

from telecast_dispatcher.webhooks.retries import RETRY_AFTER_STATUSES, retry_after_seconds
from telecast_dispatcher.webhooks.signing import (
    DELIVERY_ID_HEADER,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)
from telecast_dispatcher.webhooks.targets import (
    GuardedResolver,
    InvalidTarget,
    TargetPolicy,
    TargetRefused,
    parse_target,
)

EXCERPT_BYTES = 512
USER_AGENT = "telecast-webhooks/1"


@dataclass(frozen=True)
class Attempt:
    """What one attempt found out."""

    started_at: datetime
    latency_ms: float
    status_code: int | None
    error: str | None
    excerpt: str | None
    retry_after: float | None
    # For metrics: the status code, or timeout / error / refused.
    status_label: str

    @property
    def ok(self) -> bool:
        """The receiver answered 2xx, in time, in full."""
        return self.error is None


def open_session(policy: TargetPolicy, concurrency: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=concurrency,
        resolver=GuardedResolver(policy),
        ttl_dns_cache=10,
    )
    return aiohttp.ClientSession(
        connector=connector,
        # No state carried from one receiver's answer to another request.
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={"User-Agent": USER_AGENT},
        # No proxies from the environment: the address policy must see the real target.
        trust_env=False,
    )


class WebhookSender:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        policy: TargetPolicy,
        timeout: float,
        keep_excerpt: bool = True,
    ) -> None:
        # Whether the first bytes of each answer go to the delivery log (receivers may
        # answer with internal details; WEBHOOK_RESPONSE_EXCERPT=false keeps none).
        self.keep_excerpt = keep_excerpt
        self.session = session
        self.policy = policy
        self.timeout_seconds = timeout
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(
        self,
        url: str,
        body: bytes,
        keys: Sequence[str],
        *,
        event_id: str,
        event_type: str,
        delivery_id: str,
    ) -> Attempt:
        started_at = datetime.now(UTC)
        began = time.perf_counter()
        status: int | None = None
        error: str | None = None
        excerpt: str | None = None
        retry_after: float | None = None
        label = "error"
        try:
            # IP literals never reach the resolver: judge them here.
            self.policy.check_literal(parse_target(url))
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature_header(keys, int(time.time()), body),
                EVENT_ID_HEADER: event_id,
                EVENT_TYPE_HEADER: event_type,
                DELIVERY_ID_HEADER: delivery_id,
            }
            async with self.session.post(
                url, data=body, headers=headers, allow_redirects=False, timeout=self.timeout
            ) as response:
                status = response.status
                label = str(status)
                if self.keep_excerpt:
                    raw = await response.content.read(EXCERPT_BYTES)
                    excerpt = raw[:EXCERPT_BYTES].decode("utf-8", "replace") or None
                if status in RETRY_AFTER_STATUSES:
                    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            if not 200 <= status < 300:
                error = f"HTTP {status}"
                if 300 <= status < 400:
                    error += " (redirects are not followed)"
        except (TargetRefused, InvalidTarget) as refusal:
            error, label = f"refused: {refusal}", "refused"
        except aiohttp.ClientConnectorError as failure:
            if isinstance(failure.os_error, TargetRefused):
                error, label = f"refused: {failure.os_error}", "refused"
            else:
                error = f"cannot connect: {failure.os_error.strerror or failure.os_error!r}"
        except TimeoutError:
            error, label = f"no answer within {self.timeout_seconds:g} s", "timeout"
        except aiohttp.ClientError as failure:
            error = f"{type(failure).__name__}: {failure}"[:300]
        return Attempt(
            started_at=started_at,
            latency_ms=(time.perf_counter() - began) * 1000,
            status_code=status,
            error=error,
            excerpt=excerpt,
            retry_after=retry_after,
            status_label=label,
        )
