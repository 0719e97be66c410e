"""The simulator's composition root: settings, the record, the TCP server, ops endpoint."""

from __future__ import annotations

import asyncio

from telecast_libs.log import configure_logging, get_logger
from telecast_libs.migrations import require_current
from telecast_libs.ops import serve_ops
from telecast_libs.pg import open_pool
from telecast_libs.runner import stop_signalled
from telecast_libs.settings import load_settings
from telecast_telegram_sim.migrations import HISTORY
from telecast_telegram_sim.record import Recorder, last_message_ids
from telecast_telegram_sim.rules import Rules, parse_error_mix
from telecast_telegram_sim.server import Simulator, SimulatorConnection
from telecast_telegram_sim.settings import SimulatorSettings

log = get_logger(__name__)


def rules_of(settings: SimulatorSettings) -> Rules:
    return Rules(
        account_rate=settings.telegram_sim_account_rate,
        private_chat_rate=settings.telegram_sim_private_chat_rate,
        group_rate_per_minute=settings.telegram_sim_group_rate_per_minute,
        latency_ms=settings.telegram_sim_latency_ms,
        jitter_ms=settings.telegram_sim_jitter_ms,
        error_mix=parse_error_mix(settings.telegram_sim_error_mix),
        read_rate=settings.telegram_sim_read_rate,
        click_rate=settings.telegram_sim_click_rate,
        not_admin_chats=sorted(settings.not_admin_chats()),
    )


async def serve(settings: SimulatorSettings) -> None:
    await asyncio.to_thread(require_current, settings.database_url, HISTORY)
    pool = await open_pool(settings.database_url, min_size=1, max_size=3, name="telegram_sim")
    recorder = Recorder(pool)
    simulator = Simulator(
        settings.account_names(),
        rules_of(settings),
        recorder,
        await last_message_ids(pool),
        seed=settings.telegram_sim_seed,
    )
    writing = asyncio.create_task(recorder.run())
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SimulatorConnection(simulator),
        settings.telegram_sim_host,
        settings.telegram_sim_port,
        reuse_address=True,
    )

    async def postgres_ready() -> None:
        async with pool.connection() as conn:
            await conn.execute("SELECT 1")

    ops = await serve_ops(
        settings.metrics_host, settings.metrics_port, {"postgres": postgres_ready}
    )
    log.info(
        "sim.started",
        host=settings.telegram_sim_host,
        port=settings.telegram_sim_port,
        accounts=sorted(simulator.accounts),
        rules=repr(simulator.rules),
    )

    await stop_signalled()

    log.info("sim.stopping", in_flight=simulator.in_flight)
    server.close()
    for conn in list(simulator.connections):
        conn.pause()
    # Requests already read are processed, recorded and answered before the connections go.
    deadline = loop.time() + 10
    while simulator.in_flight > 0 and loop.time() < deadline:
        await asyncio.sleep(0.01)
    await recorder.stop()
    await writing
    for conn in list(simulator.connections):
        conn.close()
    ops.close()
    await pool.close()
    log.info("sim.stopped", counters=dict(simulator.counters))


def main() -> None:
    settings = load_settings(SimulatorSettings)
    configure_logging("telegram_sim", settings.log_format, settings.log_level)
    asyncio.run(serve(settings))
