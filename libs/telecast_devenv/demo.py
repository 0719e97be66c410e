"""``make demo``: the platform at work, end to end, in about a minute.

Starts the services as processes (PostgreSQL and NATS found or started as for ``make run``)
in a database and a NATS namespace of their own, with the Telegram simulator and two
sending accounts; seeds a demo audience through the import API, a segment, a template with a
URL button and a campaign with two A/B variations; executes it and shows it with the
``telecast`` CLI (``follow`` while it sends, then ``stats``). Everything it started stops
at the end, or on Ctrl-C.

Usage: ``python -m telecast_devenv.demo [--contacts N] [--rate R] [--keep-logs]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from telecast_devenv.databases import create_database, drop_database
from telecast_devenv.infra import resolve
from telecast_devenv.jetstream import delete_streams
from telecast_devenv.platform import Platform

ADMIN = {"email": "admin@telecast.local", "password": "telecast"}
ACCOUNTS = "sim-bot-1,sim-bot-2"
ERROR_MIX = "USER_IS_BLOCKED=0.02,INPUT_USER_DEACTIVATED=0.01,PEER_ID_INVALID=0.005"
COUNTRIES = ["US", "US", "US", "GB", "DE", "FR", "ES", "BR", "IN", "CA"]
FIRST_NAMES = [
    "Ava", "Ben", "Chloe", "Diego", "Emma", "Farid", "Grace", "Hugo", "Isla", "Jonas",
    "Kira", "Liam", "Mia", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara",
]  # fmt: skip
LAST_NAMES = ["Smith", "Müller", "Garcia", "Dubois", "Rossi", "Silva", "Khan", "Novak"]
SHOPPERS = ["shopping", "fashion", "tech", "travel", "food"]
INTERESTS = ["shopping", "fashion", "sports", "travel", "tech", "food", "music"]
TEST_RECIPIENTS = 5
# Where the demo's contacts sit among Telegram ids: away from anything a person types.
FIRST_TELEGRAM_ID = 7_100_000_000


def audience_csv(contacts: int, seed: int = 20241124) -> str:
    """The demo audience as the import takes it: names, locations, ages, interests, and a
    test flag on the first few."""
    chooser = random.Random(seed)
    lines = ["telegramId,chatType,firstName,lastName,location,age,interests,isTestRecipient"]
    for n in range(contacts):
        lines.append(
            ",".join(
                [
                    str(FIRST_TELEGRAM_ID + n),
                    "private",
                    chooser.choice(FIRST_NAMES),
                    chooser.choice(LAST_NAMES),
                    chooser.choice(COUNTRIES),
                    str(chooser.randint(18, 70)),
                    ";".join(chooser.sample(INTERESTS, chooser.randint(1, 3))),
                    "true" if n < TEST_RECIPIENTS else "false",
                ]
            )
        )
    return "\n".join(lines) + "\n"


def step(text: str) -> None:
    print(f"\n\033[1m▶ {text}\033[0m", flush=True)


def telecast(config_dir: Path, *args: str, capture: bool = False) -> str:
    """Run the ``telecast`` CLI as an operator would, with the demo's own credentials (not
    the user's); what it printed, when ``capture``."""
    print(f"$ telecast {' '.join(args)}", flush=True)
    environment = {
        **os.environ,
        "TELECAST_CONFIG_DIR": str(config_dir),
        "TELECAST_PASSWORD": ADMIN["password"],
    }
    done = subprocess.run(
        [sys.executable, "-m", "telecast_cli", *args],
        env=environment,
        check=True,
        capture_output=capture,
        text=True,
    )
    if capture:
        print(done.stdout, end="", flush=True)
    return done.stdout or ""


def created(answer: httpx.Response) -> str:
    if answer.status_code != 201:
        raise RuntimeError(f"{answer.request.url}: {answer.status_code} {answer.text[:300]}")
    return answer.json()["data"]["id"]


def seed_content(api: httpx.Client) -> tuple[str, str]:
    """The segment and the template of the demo campaign: their ids."""
    segment_id = created(
        api.post(
            "/api/v1/segments",
            json={
                "name": "Adult shoppers and travellers",
                "description": "18 and over, into shopping, fashion, tech, travel or food",
                "filter": {
                    "and": [
                        {"field": "age", "op": "gte", "value": 18},
                        {
                            "field": "interests",
                            "op": "any",
                            "value": SHOPPERS,
                        },
                    ]
                },
            },
        )
    )
    template_id = created(
        api.post(
            "/api/v1/templates",
            json={
                "name": "Summer sale",
                "content": "<b>Hi {{firstName|there}}!</b> Our summer sale is on.",
                "parseMode": "html",
                "buttons": [[{"text": "Shop now", "url": "https://shop.example.com/summer"}]],
            },
        )
    )
    return segment_id, template_id


def campaign_body(segment_id: str, template_id: str) -> dict[str, Any]:
    return {
        "name": "Summer Sale (demo)",
        "description": "Two A/B variations of the summer sale message, with a URL button",
        "type": "message",
        "targetAudience": {"segments": [segment_id]},
        "messages": [
            {
                "templateId": template_id,
                "variations": [
                    {
                        "id": "a",
                        "weight": 50,
                        "content": "<b>🌞 Summer Sale, {{firstName|friend}}!</b> 30% off all.",
                    },
                    {
                        "id": "b",
                        "weight": 50,
                        "content": "☀️ Hot deals for you, {{firstName|friend}}: save 30% today!",
                    },
                ],
            }
        ],
    }


def run_demo(platform: Platform, work: Path, contacts: int) -> None:
    config_dir = work / "config"
    step("Log in with the telecast CLI")
    telecast(config_dir, "login", "--url", platform.base_url, "--email", ADMIN["email"])

    step(f"Import {contacts:,} demo contacts (CSV, streamed)")
    csv_path = work / "demo-contacts.csv"
    csv_path.write_text(audience_csv(contacts))
    telecast(config_dir, "contacts", "import", str(csv_path))

    token = httpx.post(f"{platform.base_url}/api/v1/auth/login", json=ADMIN).json()["data"][
        "accessToken"
    ]
    with httpx.Client(
        base_url=platform.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as api:
        step("Create a segment and a template with a URL button")
        segment_id, template_id = seed_content(api)
        count = api.get(f"/api/v1/segments/{segment_id}/count").json()["data"]["count"]
        print(f"segment {segment_id}: {count:,} contacts; template {template_id}")
        body = work / "campaign.json"
        body.write_text(json.dumps(campaign_body(segment_id, template_id), indent=2))

    step("Create the campaign (two A/B variations) and execute it")
    # It prints "created <id> (<name>, draft)".
    campaign_id = telecast(config_dir, "campaigns", "create", "--file", str(body), capture=True)
    campaign_id = campaign_id.split()[1]
    telecast(config_dir, "campaigns", "show", campaign_id)
    started = time.monotonic()
    telecast(config_dir, "campaigns", "execute", campaign_id)

    step("Follow it while it sends (Server-Sent Events)")
    telecast(config_dir, "follow", campaign_id)
    print(f"sent in {time.monotonic() - started:.1f} s", flush=True)

    step("Its statistics")
    telecast(config_dir, "stats", campaign_id)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m telecast_devenv.demo")
    parser.add_argument("--contacts", type=int, default=3000, help="demo audience size")
    parser.add_argument(
        "--rate", type=int, default=200, help="messages per second per simulated account"
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the services' logs")
    args = parser.parse_args(argv)

    infra = resolve("test")
    database = f"telecast_demo_{secrets.token_hex(4)}"
    namespace = f"demo{secrets.token_hex(4)}"
    work = Path(tempfile.mkdtemp(prefix="telecast-demo-"))
    database_url = create_database(infra.database_url, database)
    platform = Platform(
        database_url,
        infra.nats_url,
        namespace,
        work,
        env={
            "TELEGRAM_BOT_RATE": str(args.rate),
            "TELEGRAM_SIM_ACCOUNTS": ACCOUNTS,
            # The simulated Telegram allows what the dispatcher sends at, refuses a few
            # recipients and reads and clicks some messages, for the statistics.
            "TELEGRAM_SIM_ACCOUNT_RATE": str(args.rate),
            "TELEGRAM_SIM_ERROR_MIX": ERROR_MIX,
            "TELEGRAM_SIM_READ_RATE": "0.6",
            "TELEGRAM_SIM_CLICK_RATE": "0.15",
            "LOG_LEVEL": "warning",
        },
    )
    failed = False
    try:
        step("Start the platform (gateway, campaign, projection, dispatcher, simulator)")
        platform.start()
        print(f"API on {platform.base_url}; logs in {work}", flush=True)
        run_demo(platform, work, args.contacts)
        step("Done")
    except KeyboardInterrupt:
        print("\ninterrupted: stopping", flush=True)
        failed = True
    except (subprocess.CalledProcessError, RuntimeError, httpx.HTTPError) as error:
        print(f"\nthe demo failed: {error}\n{platform.logs()}", file=sys.stderr, flush=True)
        failed = True
    finally:
        # A second Ctrl-C must not cut the cleanup short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        platform.stop()
        asyncio.run(delete_streams(infra.nats_url, f"{namespace.upper()}_"))
        drop_database(infra.database_url, database)
        infra.stop()
        if args.keep_logs or failed:
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
