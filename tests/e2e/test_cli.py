"""The ``telecast`` command line against the running platform: login, campaigns, an
execution followed until it completes, statistics, a contacts import, refused calls."""

from __future__ import annotations

import json
import os
import random
import stat
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.sending import make_audience, own_platform
from typer.testing import CliRunner, Result

from telecast_cli.credentials import credentials_path, load
from telecast_cli.main import app
from telecast_devenv import Infra
from telecast_devenv.platform import Platform

ADMIN = {"email": "admin@telecast.local", "password": "telecast"}


@pytest.fixture(scope="module")
def platform(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A platform that sends (the shared e2e one holds sending): its own database and
    namespace."""
    with own_platform(
        infra.database_url, infra.nats_url, tmp_path_factory.mktemp("logs"), {}
    ) as running:
        yield running


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("telecast-config")


@pytest.fixture(scope="module")
def cli(platform: Platform, config_dir: Path) -> Iterator[CliRunner]:
    runner = CliRunner(env={"TELECAST_CONFIG_DIR": str(config_dir), "COLUMNS": "160"})
    answer = runner.invoke(
        app,
        ["login", "--url", platform.base_url, "--email", ADMIN["email"]],
        input=f"{ADMIN['password']}\n",
    )
    assert answer.exit_code == 0, answer.output
    yield runner


def run(cli: CliRunner, *args: str, timeout: float = 120) -> Result:
    """Run a command to its end; a test fails, rather than hangs, if it does not end (say,
    ``follow`` of an execution that never completes)."""
    answers: list[Result] = []
    # A daemon thread: one that never ends does not keep the test run from ending either.
    worker = threading.Thread(target=lambda: answers.append(cli.invoke(app, list(args))))
    worker.daemon = True
    worker.start()
    worker.join(timeout)
    assert answers, f"{args}: still running after {timeout} s"
    [answer] = answers
    assert answer.exit_code == 0, f"{args}: {answer.output}"
    return answer


def created_id(answer: Result) -> str:
    # "created <id> (<name>, draft)"
    return answer.output.split()[1]


def test_login_keeps_the_tokens_readable_by_the_owner_only(
    cli: CliRunner, config_dir: Path
) -> None:
    path = credentials_path({"TELECAST_CONFIG_DIR": str(config_dir)})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    saved = load(path)
    assert saved is not None and saved.email == ADMIN["email"] and saved.refresh_token


def test_a_wrong_password_is_refused_with_the_api_code(platform: Platform, tmp_path: Path) -> None:
    runner = CliRunner(env={"TELECAST_CONFIG_DIR": str(tmp_path)})
    answer = runner.invoke(
        app,
        ["login", "--url", platform.base_url, "--email", ADMIN["email"], "--password", "wrong"],
    )
    assert answer.exit_code == 1
    assert "UNAUTHORIZED" in answer.output
    assert not (tmp_path / "credentials.json").exists()


def test_create_execute_follow_until_completed_and_stats(cli: CliRunner, api: httpx.Client) -> None:
    start = random.randrange(2 * 10**9, 3 * 10**9)
    audience = make_audience(api, uuid.uuid4().hex[:8], list(range(start, start + 40)))
    name = f"CLI flow {uuid.uuid4().hex[:6]}"
    campaign_id = created_id(
        run(
            cli,
            "campaigns",
            "create",
            "--name",
            name,
            "--message",
            "Hello {{firstName}}",
            "--segment",
            audience.segment_id,
        )
    )

    listed = run(cli, "campaigns", "list", "--search", name.split()[-1])
    assert campaign_id in listed.output and "draft" in listed.output
    shown = run(cli, "campaigns", "show", campaign_id)
    assert audience.segment_id in shown.output

    executed = run(cli, "campaigns", "execute", campaign_id, "--priority", "high")
    assert executed.output.startswith("started: execution ")

    followed = run(cli, "follow", campaign_id)
    assert "completed  100.0%  40/40" in followed.output

    statistics = run(cli, "stats", campaign_id, "--period", "24h")
    for title in ("Overview", "Performance", "Timeline", "Segments"):
        assert title in statistics.output
    assert audience.segment_id in statistics.output


def test_pause_resume_cancel(cli: CliRunner) -> None:
    campaign_id = created_id(run(cli, "campaigns", "create", "--name", "CLI lifecycle"))
    refused = cli.invoke(app, ["campaigns", "pause", campaign_id])
    assert refused.exit_code == 1
    assert "INVALID_STATE_TRANSITION" in refused.output

    later = "2099-01-01T09:00:00+00:00"
    scheduled = run(cli, "campaigns", "execute", campaign_id, "--at", later)
    assert scheduled.output.startswith("scheduled for 2099-01-01")
    assert "cancelled" in run(cli, "campaigns", "cancel", campaign_id).output


def test_an_unknown_campaign_is_an_error_with_its_code(cli: CliRunner) -> None:
    for command in (["campaigns", "show"], ["follow"], ["stats"]):
        answer = cli.invoke(app, [*command, str(uuid.uuid4())])
        assert answer.exit_code == 1, command
        assert "CAMPAIGN_NOT_FOUND" in answer.output


def test_import_a_csv_prints_the_report(cli: CliRunner, tmp_path: Path) -> None:
    start = random.randrange(3 * 10**9, 4 * 10**9)
    rows = ["telegramId,chatType,firstName,location"]
    rows += [f"{start + n},private,Ann{n},US" for n in range(25)]
    rows += [f"{start + 99},private,Bad,not-a-country"]
    path = tmp_path / "contacts.csv"
    path.write_text("\n".join(rows) + "\n")

    answer = run(cli, "contacts", "import", str(path))

    assert "created 25, updated 0, rejected 1" in answer.output
    assert "row 27 location" in answer.output


def test_an_expired_access_token_is_refreshed(cli: CliRunner, config_dir: Path) -> None:
    path = credentials_path({"TELECAST_CONFIG_DIR": str(config_dir)})
    saved = json.loads(path.read_text())
    saved["access_token"] = "expired"
    path.write_text(json.dumps(saved))

    run(cli, "campaigns", "list")

    refreshed = load(path)
    assert refreshed is not None and refreshed.access_token != "expired"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
