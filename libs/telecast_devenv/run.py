"""``make run``: find or start PostgreSQL and NATS, then run the services with honcho.

Usage: ``python -m telecast_devenv.run``. Ctrl-C (or SIGTERM) stops the services, then the
embedded servers this started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from types import FrameType

from telecast_devenv import console
from telecast_devenv.databases import ensure_database
from telecast_devenv.infra import Infra, redacted, repo_root, resolve
from telecast_devenv.schemas import migrate_all

DATABASE = "telecast"
# The Procfile's Telegram simulator, run only when no Telegram credentials are configured.
SIMULATOR = "telegram_sim"


def procfile_processes() -> list[str]:
    lines = (repo_root() / "Procfile").read_text().splitlines()
    return [line.split(":", 1)[0].strip() for line in lines if ":" in line and line[0] != "#"]


def build_console() -> None:
    """Build the web console if its sources changed; without Node, or when the build fails,
    say so and go on: the API runs regardless (and ``/`` says the console is not built)."""
    problem = console.node_problem()
    if problem:
        print(f"console: not built, {problem}; the API runs without it", flush=True)
        return
    if console.is_current():
        return
    print("console: building (npm ci, type check, vite build)…", flush=True)
    try:
        console.build()
    except console.ConsoleBuildError as error:
        print(f"console: the build failed; the API runs without it\n{error}", flush=True)


def main() -> int:
    build_console()
    infra = resolve("run")
    try:
        database_url = infra.database_url
        if infra.postgres.source != "env":
            # The docker and embedded URLs name an administrative database.
            database_url = ensure_database(database_url, DATABASE)
        # The deployment's step before any service starts (services only check the version).
        migrate_all(database_url)
        environment = {
            # make run is development: the services run on the published default secrets
            # (set TELECAST_ENV=production with your own secrets to try production here).
            "TELECAST_ENV": "development",
            **os.environ,
            "DATABASE_URL": database_url,
            "NATS_URL": infra.nats_url,
            # The NATS users' passwords of a server started here (none for $NATS_URL's: the
            # services then use the credentials the environment gives them, if any).
            **infra.nats.environment,
            # The Procfile says `python`: make it this virtualenv's, activated or not.
            "PATH": os.pathsep.join([sysconfig.get_path("scripts"), os.environ.get("PATH", "")]),
        }
        processes = procfile_processes()
        if environment.get("TELEGRAM_API_ID"):
            # Real Telegram: no simulator.
            processes.remove(SIMULATOR)
        else:
            port = environment.get("TELEGRAM_SIM_PORT") or "9210"
            environment.setdefault("TELEGRAM_SIMULATOR_ADDRESS", f"127.0.0.1:{port}")
        # Tracked links lead to this gateway (GET /r/<token>).
        environment.setdefault(
            "TRACKING_BASE_URL", f"http://127.0.0.1:{environment.get('GATEWAY_PORT') or '8000'}"
        )
        print(banner(environment, infra), flush=True)
        return run_honcho(environment, processes)
    finally:
        infra.stop()


def banner(environment: Mapping[str, str], infra: Infra) -> str:
    """What a developer needs to start using the platform."""
    gateway = f"http://127.0.0.1:{environment.get('GATEWAY_PORT') or '8000'}"
    email = environment.get("BOOTSTRAP_ADMIN_EMAIL") or "admin@telecast.local"
    password = environment.get("BOOTSTRAP_ADMIN_PASSWORD") or "telecast"
    rows = [
        ("console", f"{gateway}/"),
        ("API", gateway),
        ("OpenAPI", f"{gateway}/schema"),
        ("admin", f"{email} / {password}"),
        ("namespace", environment.get("TELECAST_NAMESPACE") or "telecast"),
        ("PostgreSQL", f"{redacted(environment['DATABASE_URL'])}  [{infra.postgres.source}]"),
        ("NATS", f"{environment['NATS_URL']}  [{infra.nats.source}]"),
        (
            "Telegram",
            f"simulator on {environment.get('TELEGRAM_SIMULATOR_ADDRESS')}"
            if not environment.get("TELEGRAM_API_ID")
            else f"api_id {environment['TELEGRAM_API_ID']}",
        ),
    ]
    lines = [f"  {name:<11} {value}" for name, value in rows]
    return "\n".join(["", "telecast is starting (Ctrl-C stops it)", *lines, ""])


def run_honcho(environment: Mapping[str, str], processes: list[str]) -> int:
    """Run these processes of the Procfile until honcho exits; forward SIGINT and SIGTERM.

    The handlers stay in place afterwards, so that a second Ctrl-C cannot interrupt the
    shutdown of the embedded servers that follows.
    """
    root = repo_root()
    honcho = subprocess.Popen(
        [sys.executable, "-m", "honcho", "start", "--procfile", str(root / "Procfile"), *processes],
        cwd=root,
        env=dict(environment),
        # Its own process group: a Ctrl-C in the terminal reaches honcho once, through us.
        process_group=0,
    )

    def forward(signum: int, _frame: FrameType | None) -> None:
        if honcho.poll() is None:
            honcho.send_signal(signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, forward)
    return honcho.wait()


if __name__ == "__main__":
    sys.exit(main())
