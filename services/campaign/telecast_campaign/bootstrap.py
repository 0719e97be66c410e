"""The campaign service's composition root: settings, connections, application, tasks."""

from __future__ import annotations

import asyncio

from telecast_campaign import campaign_commands, segment_commands, template_commands
from telecast_campaign.application import Campaigns, Decider
from telecast_campaign.audience import contacts as contact_requests
from telecast_campaign.audience import selection
from telecast_campaign.audience.endpoint import AudienceEndpoint
from telecast_campaign.endpoint import CommandEndpoint
from telecast_campaign.migrations import HISTORY
from telecast_campaign.relay import OutboxRelay, RelayPosition
from telecast_campaign.scheduler import Scheduler
from telecast_campaign.settings import CampaignSettings
from telecast_libs import nats as tnats
from telecast_libs.command_signing import DISPATCHER, GATEWAY, CommandVerifier, Trusted
from telecast_libs.contracts.contacts import MarkContactBlocked
from telecast_libs.contracts.messages import (
    CloneCampaign,
    CompleteCampaign,
    CreateCampaign,
    DeleteCampaign,
    ExecuteCampaign,
    FailCampaign,
    PauseCampaign,
    ResumeCampaign,
    StartScheduledExecution,
    UpdateCampaign,
)
from telecast_libs.contracts.segments import CreateSegment, DeleteSegment, UpdateSegment
from telecast_libs.contracts.templates import CreateTemplate, DeleteTemplate, UpdateTemplate
from telecast_libs.log import configure_logging, get_logger
from telecast_libs.migrations import require_current
from telecast_libs.pg import eventsourcing_env, open_pool
from telecast_libs.runner import cancel, run_service
from telecast_libs.settings import load_settings
from telecast_libs.streams import campaign_events_stream
from telecast_libs.subjects import Subjects, subjects_for

SCHEMA = "campaign"

log = get_logger(__name__)


# Which function decides each command (the application's deciders).
DECIDERS: dict[type, Decider] = {
    CreateCampaign: campaign_commands.create,
    CloneCampaign: campaign_commands.clone,
    UpdateCampaign: campaign_commands.update,
    DeleteCampaign: campaign_commands.delete,
    ExecuteCampaign: campaign_commands.execute,
    PauseCampaign: campaign_commands.pause,
    ResumeCampaign: campaign_commands.resume,
    CompleteCampaign: campaign_commands.complete,
    FailCampaign: campaign_commands.fail,
    StartScheduledExecution: campaign_commands.start_scheduled,
    CreateSegment: segment_commands.create,
    UpdateSegment: segment_commands.update,
    DeleteSegment: segment_commands.delete,
    CreateTemplate: template_commands.create,
    UpdateTemplate: template_commands.update,
    DeleteTemplate: template_commands.delete,
}
# Importing the audience modules registers their request handlers with the AudienceEndpoint.
AUDIENCE_MODULES = (contact_requests, selection)


def build_application(database_url: str) -> Campaigns:
    """The event-sourced application, on a schema migrated beforehand (migrations/)."""
    return Campaigns(DECIDERS, env=eventsourcing_env(database_url, SCHEMA))


# What the dispatcher may command: the campaign changes that sending decides, and a contact
# that blocked the bot. Every other command comes from the gateway, on an operator's behalf.
DISPATCHER_COMMANDS = tuple(
    command.__struct_config__.tag
    for command in (CompleteCampaign, PauseCampaign, FailCampaign, MarkContactBlocked)
)


def command_verifier(settings: CampaignSettings, subjects: Subjects) -> CommandVerifier:
    return CommandVerifier(
        subjects.command_prefix,
        {
            GATEWAY: Trusted(settings.gateway_verify_key),
            DISPATCHER: Trusted(settings.dispatcher_verify_key, DISPATCHER_COMMANDS),
        },
    )


async def serve(settings: CampaignSettings) -> None:
    subjects = subjects_for(settings.telecast_namespace)
    await asyncio.to_thread(require_current, settings.database_url, HISTORY)
    app = await asyncio.to_thread(build_application, settings.database_url)
    selection.use_application(app)
    nc = await tnats.connect(settings, name="telecast-campaign")
    js = nc.jetstream()
    await tnats.ensure_stream(js, campaign_events_stream(subjects))

    relay = OutboxRelay(
        app,
        js,
        subjects,
        settings.database_url,
        RelayPosition(SCHEMA),
        batch_size=settings.relay_batch_size,
    )
    verifier = command_verifier(settings, subjects)
    endpoint = CommandEndpoint(app, nc, subjects, relay.wake, settings.command_batch_size, verifier)
    scheduler = Scheduler(app, settings.database_url, SCHEMA, relay.wake)
    pool = await open_pool(settings.database_url, max_size=10, name="campaign")
    app.contact_counter = await asyncio.to_thread(selection.ContactCounter, settings.database_url)
    audience = AudienceEndpoint(pool, nc, subjects, verifier)
    tasks: list[asyncio.Task[None]] = []

    async def start() -> None:
        tasks.extend(asyncio.create_task(t.run()) for t in (relay, endpoint, scheduler))
        await endpoint.start()
        await audience.start()

    async def stop() -> None:
        await endpoint.stop()
        await audience.stop()
        await cancel(tasks)

    try:
        await run_service(
            "campaign",
            settings,
            pool,
            nc,
            start=start,
            stop=stop,
            # Imports may hold every connection of the pool for a while.
            ready_on_own_connection_to=settings.database_url,
        )
    finally:
        await asyncio.to_thread(app.contact_counter.close)
        app.close()


def main() -> None:
    settings = load_settings(CampaignSettings)
    configure_logging("campaign", settings.log_format, settings.log_level)
    asyncio.run(serve(settings))
