"""A service started on a schema that is not at its version refuses to start, and says which
command to run; once that command ran, it starts."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from telecast_campaign.migrations import HISTORY as CAMPAIGN
from telecast_devenv import Infra
from telecast_devenv.platform import MODULES, Platform
from telecast_libs.migrations import migrate


def _platform(infra: Infra, database_url: str, log_dir: Path) -> Platform:
    """The services' environments (nothing is started)."""
    return Platform(database_url, infra.nats_url, f"t{secrets.token_hex(4)}", log_dir)


def _run(platform: Platform, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", MODULES[name], *args],
        env=platform[name].env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("name", list(MODULES))
def test_a_service_refuses_an_unmigrated_database_and_names_the_command(
    infra: Infra, empty_database: str, tmp_path: Path, name: str
) -> None:
    done = _run(_platform(infra, empty_database, tmp_path), name)

    assert done.returncode != 0
    assert "has no migration applied" in done.stderr, done.stderr
    assert f"python -m {MODULES[name]} migrate" in done.stderr, done.stderr


def test_a_service_refuses_a_schema_an_upgrade_left_behind(
    infra: Infra, empty_database: str, tmp_path: Path
) -> None:
    migrate(empty_database, CAMPAIGN, to="0001")

    done = _run(_platform(infra, empty_database, tmp_path), "campaign")

    assert done.returncode != 0
    assert "is at migration 0001; this version of telecast campaign needs migration " in (
        done.stderr
    ), done.stderr


def test_the_migrate_command_lets_the_service_start(
    infra: Infra, empty_database: str, tmp_path: Path
) -> None:
    platform = _platform(infra, empty_database, tmp_path)

    migrated = _run(platform, "campaign", "migrate")
    again = _run(platform, "campaign", "migrate")

    assert migrated.returncode == 0, migrated.stderr
    assert f"migrated from nothing to {CAMPAIGN.head()}" in migrated.stdout
    assert f"at migration {CAMPAIGN.head()}: nothing to do" in again.stdout
    campaign = platform["campaign"]
    try:
        campaign.start()
        campaign.wait_ready()
    finally:
        campaign.stop()
