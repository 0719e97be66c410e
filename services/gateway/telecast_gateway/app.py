"""The gateway's composition root: settings, connections and the Litestar application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import (
    JsonRenderPlugin,
    RedocRenderPlugin,
    SwaggerRenderPlugin,
    YamlRenderPlugin,
)
from litestar.openapi.spec import Components, SecurityScheme

from telecast_gateway.allow import complete_allow
from telecast_gateway.bus import Bus
from telecast_gateway.click_filter import ClickFilter
from telecast_gateway.console import console_routes
from telecast_gateway.credentials import Credentials
from telecast_gateway.document import complete_document
from telecast_gateway.envelope import exception_handlers
from telecast_gateway.headers import security_headers
from telecast_gateway.idempotency import (
    MAX_BODY_BYTES,
    IdempotencyStore,
    abandoned_after,
    idempotent_posts,
)
from telecast_gateway.login_throttle import LoginThrottle
from telecast_gateway.observability import observe
from telecast_gateway.operators import OperatorStore
from telecast_gateway.routes.audience import CampaignAudienceController
from telecast_gateway.routes.auth import AuthController
from telecast_gateway.routes.campaigns import CampaignController
from telecast_gateway.routes.contacts import ContactController
from telecast_gateway.routes.health import health, ready
from telecast_gateway.routes.previews import PreviewController
from telecast_gateway.routes.progress_stream import ProgressStreamController, StreamSlots
from telecast_gateway.routes.segments import SegmentController
from telecast_gateway.routes.templates import TemplateController
from telecast_gateway.routes.tracking import ConversionController, TrackedLinkController
from telecast_gateway.routes.users import UsersController
from telecast_gateway.routes.webhooks import WebhookController
from telecast_gateway.security import build_auth, document_public_paths, password_changed
from telecast_gateway.settings import GatewaySettings
from telecast_gateway.strict_bodies import decode_strictly
from telecast_libs import nats as tnats
from telecast_libs.command_signing import GATEWAY, CommandSigner
from telecast_libs.log import get_logger
from telecast_libs.ops import serve_ops
from telecast_libs.pg import open_pool
from telecast_libs.subjects import subjects_for

log = get_logger(__name__)


def _provide_bus(state: State) -> Bus:
    return state.bus


def _provide_operators(state: State) -> OperatorStore:
    return state.operators


def create_app(settings: GatewaySettings) -> Litestar:
    auth = build_auth(settings.jwt_secret, settings.token_ttl_seconds)
    subjects = subjects_for(settings.telecast_namespace)

    @asynccontextmanager
    async def connections(app: Litestar) -> AsyncIterator[None]:
        pool = await open_pool(settings.database_url, max_size=10, name="gateway")
        operators = OperatorStore(
            pool, settings.refresh_token_ttl_seconds, on_change=lambda id_: credentials.changed(id_)
        )
        credentials = Credentials(operators)
        await operators.ensure_admin(
            settings.bootstrap_admin_email,
            settings.admin_password(),
            must_change_password=not settings.development,
        )
        nc = await tnats.connect(settings, name="telecast-gateway")
        await credentials.listen(nc, subjects.operator_changed)

        async def postgres_ready() -> None:
            async with pool.connection() as conn:
                await conn.execute("SELECT 1")

        async def nats_ready() -> None:
            if not nc.is_connected:
                raise ConnectionError("NATS is not connected")
            await nc.flush(timeout=1)

        app.state.operators = operators
        app.state.credentials = credentials
        app.state.idempotency = IdempotencyStore(
            pool,
            settings.idempotency_key_ttl_hours,
            abandoned_after(settings.nats_request_timeout_ms, settings.read_your_writes_timeout_ms),
        )
        app.state.bus = Bus(
            nc,
            CommandSigner(GATEWAY, settings.gateway_signing_key),
            subjects,
            settings.nats_request_timeout_ms,
            settings.read_your_writes_timeout_ms,
        )
        app.state.readiness_checks = {"postgres": postgres_ready, "nats": nats_ready}
        ops = await serve_ops(
            settings.metrics_host, settings.metrics_port, app.state.readiness_checks
        )
        log.info("gateway.started", port=settings.gateway_port)
        try:
            yield
        finally:
            ops.close()
            await nc.drain()
            await pool.close()

    app = Litestar(
        route_handlers=[
            AuthController,
            UsersController,
            CampaignController,
            ProgressStreamController,
            PreviewController,
            TemplateController,
            ContactController,
            SegmentController,
            CampaignAudienceController,
            WebhookController,
            ConversionController,
            TrackedLinkController,
            health,
            ready,
            *console_routes(settings.console_path),
        ],
        lifespan=[connections],
        on_app_init=[auth.on_app_init],
        guards=[password_changed],
        # Authentication (added by on_app_init) runs first, so both see the operator.
        middleware=[observe, complete_allow, idempotent_posts],
        before_send=[security_headers],
        exception_handlers=exception_handlers,
        before_request=decode_strictly,
        dependencies={
            "bus": Provide(_provide_bus, sync_to_thread=False),
            "operators": Provide(_provide_operators, sync_to_thread=False),
        },
        state=State(
            {
                "settings": settings,
                "auth": auth,
                "click_filter": ClickFilter(),
                "stream_slots": StreamSlots(),
                "login_throttle": LoginThrottle(
                    free_per_address=settings.login_free_failures_per_address,
                    free_per_account=settings.login_free_failures_per_account,
                ),
            }
        ),
        openapi_config=OpenAPIConfig(
            title="telecast",
            version="0.1.0",
            description="Telegram marketing campaigns: create, manage and execute them.",
            path="/schema",
            render_plugins=[
                JsonRenderPlugin(),
                YamlRenderPlugin(),
                *([SwaggerRenderPlugin(), RedocRenderPlugin()] if settings.schema_ui else []),
            ],
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
                }
            ),
        ),
        request_max_body_size=MAX_BODY_BYTES,
        debug=False,
    )
    document_public_paths(app.openapi_schema)
    complete_document(app.openapi_schema)
    return app
