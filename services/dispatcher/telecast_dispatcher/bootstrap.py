"""The dispatcher's composition root: settings, connections, sending, tracking and the
webhook parts."""

from __future__ import annotations

import asyncio

from telecast_dispatcher.migrations import HISTORY
from telecast_dispatcher.sending.campaign_client import CampaignClient
from telecast_dispatcher.sending.capacity import capacity_endpoint
from telecast_dispatcher.sending.guards import GuardSettings
from telecast_dispatcher.sending.limits import LimitSettings
from telecast_dispatcher.sending.runs import RunSettings
from telecast_dispatcher.sending.service import Sending, SendingSettings
from telecast_dispatcher.settings import DispatcherSettings
from telecast_dispatcher.telegram.port import TelegramSender
from telecast_dispatcher.tracking.endpoint import tracking_endpoint
from telecast_dispatcher.tracking.interactions import Interactions
from telecast_dispatcher.tracking.links import LinkTracker
from telecast_dispatcher.tracking.receipts import Receipts
from telecast_dispatcher.webhooks.delivery import DeliveryWorker
from telecast_dispatcher.webhooks.delivery_log import DeliveryLog
from telecast_dispatcher.webhooks.endpoint import webhook_endpoint
from telecast_dispatcher.webhooks.intake import WebhookIntake
from telecast_dispatcher.webhooks.retries import DisablePolicy, RetryPolicy
from telecast_dispatcher.webhooks.subscriptions import Subscriptions
from telecast_dispatcher.webhooks.targets import TargetPolicy
from telecast_libs import nats as tnats
from telecast_libs.command_signing import (
    DISPATCHER,
    GATEWAY,
    CommandSigner,
    CommandVerifier,
    Trusted,
)
from telecast_libs.log import configure_logging, get_logger
from telecast_libs.migrations import require_current
from telecast_libs.pg import open_pool
from telecast_libs.runner import cancel, run_service
from telecast_libs.sealing import Sealer
from telecast_libs.settings import load_settings
from telecast_libs.subjects import subjects_for

log = get_logger(__name__)


def retry_policy(settings: DispatcherSettings) -> RetryPolicy:
    return RetryPolicy(
        base=settings.webhook_retry_base_seconds,
        factor=settings.webhook_retry_factor,
        max_delay=settings.webhook_retry_max_delay_seconds,
        jitter=settings.webhook_retry_jitter,
        max_attempts=settings.webhook_max_attempts,
        window=settings.webhook_retry_window_seconds,
    )


def telegram_sender(settings: DispatcherSettings) -> TelegramSender:
    """Pyrogram when Telegram credentials are configured, else the simulator."""
    if settings.telegram_api_id is not None:
        from telecast_dispatcher.telegram.pyrogram_adapter import PyrogramSender

        return PyrogramSender(settings.telegram_accounts())
    from telecast_dispatcher.telegram.simulator_adapter import SimulatorSender

    return SimulatorSender(settings.sim_accounts(), settings.telegram_simulator_address)


def sending_settings(settings: DispatcherSettings) -> SendingSettings:
    return SendingSettings(
        limits=LimitSettings(
            private_chat_rate=settings.send_private_chat_rate,
            group_per_minute=settings.send_group_per_minute,
        ),
        guards=GuardSettings(
            max_error_rate=settings.guard_max_error_rate,
            min_outcomes=settings.guard_min_outcomes,
            cost_per_message=settings.message_cost,
        ),
        runs=RunSettings(
            max_attempts=settings.send_max_attempts,
            retry_base_seconds=settings.send_retry_base_seconds,
            retry_max_seconds=settings.send_retry_max_seconds,
            claim_seconds=settings.send_claim_seconds,
        ),
        item_size=settings.send_item_size,
        max_items=settings.send_max_items,
        lease_ttl=settings.send_lease_ttl_seconds,
    )


async def serve(settings: DispatcherSettings) -> None:
    subjects = subjects_for(settings.telecast_namespace)
    await asyncio.to_thread(require_current, settings.database_url, HISTORY)
    pool = await open_pool(settings.database_url, max_size=12, name="dispatcher")
    nc = await tnats.connect(settings, name="telecast-dispatcher")
    policy = TargetPolicy.from_setting(settings.webhook_allowed_hosts)
    sealer = Sealer(settings.data_encryption_key)

    worker = DeliveryWorker(
        pool,
        settings.database_url,
        policy,
        retry_policy(settings),
        DisablePolicy(
            failures=settings.webhook_disable_after_failures,
            span=settings.webhook_disable_after_seconds,
        ),
        timeout=settings.webhook_timeout_seconds,
        concurrency=settings.webhook_concurrency,
        per_subscription=settings.webhook_concurrency_per_subscription,
        poll_interval=settings.webhook_poll_interval_seconds,
        retention_days=settings.webhook_log_retention_days,
        sealer=sealer,
        keep_response_excerpt=settings.webhook_response_excerpt,
    )
    intake = WebhookIntake(
        pool,
        nc.jetstream(),
        subjects,
        settings.database_url,
        settings.webhook_intake_batch_size,
        on_enqueued=worker.wake,
    )
    subscriptions = Subscriptions(
        pool,
        policy,
        settings.webhook_secret_grace_seconds,
        on_reactivated=worker.wake,
        sealer=sealer,
    )
    # Webhook and tracking commands are carried out only if the gateway signed them.
    verifier = CommandVerifier(
        subjects.command_prefix, {GATEWAY: Trusted(settings.gateway_verify_key)}
    )
    endpoint = webhook_endpoint(
        nc, subjects, subscriptions, DeliveryLog(pool, on_enqueued=worker.wake), verifier
    )

    interactions = Interactions(pool, nc.jetstream(), subjects)
    receipts = Receipts(
        interactions,
        tracking_secret=settings.tracking_secret,
        tracking_base_url=settings.tracking_base_url,
    )
    tracking = tracking_endpoint(nc, subjects, interactions, verifier)
    sender = telegram_sender(settings)
    sender.on_receipt(receipts.on_receipt)
    sending = Sending(
        pool,
        nc,
        settings.database_url,
        subjects,
        sender,
        sending_settings(settings),
        CampaignClient(nc, subjects, CommandSigner(DISPATCHER, settings.dispatcher_signing_key)),
        links=(
            LinkTracker(settings.tracking_base_url, settings.tracking_secret)
            if settings.tracking_base_url
            else None
        ),
    )
    capacity = capacity_endpoint(nc, subjects, sender.accounts, sending.retired_accounts, verifier)
    tasks: list[asyncio.Task[None]] = []

    async def start() -> None:
        tasks.extend([asyncio.create_task(intake.run()), asyncio.create_task(worker.run())])
        await endpoint.start()
        await tracking.start()
        if settings.sending_enabled:
            await sending.start()
            await capacity.start()
        else:
            log.warning("dispatcher.sending_disabled", hint="SENDING_ENABLED=false: webhooks only")

    async def stop() -> None:
        if settings.sending_enabled:
            await capacity.stop()
            await sending.stop()
        await tracking.stop()
        await receipts.stop()
        await endpoint.stop()
        # Requests in flight finish and are recorded: a clean stop sends nothing twice.
        await worker.stop(grace=settings.webhook_timeout_seconds + 1)
        await cancel(tasks)

    await run_service(
        "dispatcher",
        settings,
        pool,
        nc,
        start=start,
        stop=stop,
        tracking_base_url=settings.tracking_base_url or None,
        allowed_hosts=sorted(policy.hosts) + [str(n) for n in policy.networks],
    )


def main() -> None:
    settings = load_settings(DispatcherSettings)
    configure_logging("dispatcher", settings.log_format, settings.log_level)
    asyncio.run(serve(settings))
