"""deploy/nats: the server configuration parses with the services' users, a user without a
password stops the server, and the file's users are the services' (each connects as the
user its settings name). Fast: nats-server checks the files without starting."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from telecast_campaign.settings import CampaignSettings
from telecast_devenv.embedded import nats_server_binary
from telecast_devenv.nats_users import AUTHORIZATION, USERS, generate_passwords, password_variable
from telecast_dispatcher.settings import DispatcherSettings
from telecast_gateway.settings import GatewaySettings
from telecast_libs.settings import NATS_PASSWORD, SettingsError, load_settings
from telecast_projection.settings import ProjectionSettings
from telecast_telegram_sim.settings import SimulatorSettings

ROOT = AUTHORIZATION.parents[2]
SERVER_CONF = AUTHORIZATION.parent / "nats-server.conf"


def check(config: Path, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``nats-server -t``: parse the configuration and exit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NATS_")}
    return subprocess.run(
        [str(nats_server_binary()), "-t", "-c", str(config)],
        env={**env, **environment},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("config", [SERVER_CONF, AUTHORIZATION], ids=lambda p: p.name)
def test_the_configuration_is_valid_with_every_users_password(config: Path) -> None:
    checked = check(config, generate_passwords())
    assert checked.returncode == 0, checked.stderr
    assert "is valid" in checked.stdout + checked.stderr


@pytest.mark.parametrize("user", USERS)
def test_a_user_without_a_password_stops_the_server(user: str) -> None:
    passwords = generate_passwords()
    del passwords[password_variable(user)]
    checked = check(SERVER_CONF, passwords)
    assert checked.returncode != 0
    assert f"'{password_variable(user)}'" in checked.stderr


def test_the_files_users_are_the_services() -> None:
    text = AUTHORIZATION.read_text()
    named = {line.split(":", 1)[1].strip() for line in text.splitlines() if "user:" in line}
    assert named == set(USERS)
    settings = [GatewaySettings, CampaignSettings, ProjectionSettings, DispatcherSettings]
    assert {cls.nats_user for cls in settings} == set(USERS)
    # The simulator plays Telegram: it has no NATS user, and no credentials to leak.
    assert SimulatorSettings.nats_user is None


COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def compose_entrypoint(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The compose nats service's entrypoint, run by sh here with ``true`` as the server."""
    entrypoint = [part.replace("$$", "$") for part in COMPOSE["services"]["nats"]["entrypoint"]]
    return subprocess.run(
        [*entrypoint, "true"],
        env={"PATH": os.environ["PATH"], **environment},
        capture_output=True,
        text=True,
        check=False,
    )


def test_compose_starts_nats_only_with_every_users_password() -> None:
    passwords = generate_passwords()
    assert compose_entrypoint(passwords).returncode == 0
    for user in USERS:
        # nats-server would take an empty password: anyone could connect as that service.
        refused = compose_entrypoint({**passwords, password_variable(user): ""})
        assert refused.returncode == 1
        assert password_variable(user) in refused.stderr
    # It reads the variable as a configuration value: a number, a date, a boolean, a list.
    for misread in ("12-" + "a" * 20, "true", "a" * 10, "p" * 20 + ",x", "p" * 20 + " x"):
        refused = compose_entrypoint({**passwords, password_variable("gateway"): misread})
        assert refused.returncode == 1, misread


@pytest.mark.parametrize(
    "password", ["12-" + "a" * 20, "true", "a" * 10, "p" * 20 + ",x", "-" + "a" * 20]
)
def test_a_service_refuses_a_password_nats_server_would_misread(password: str) -> None:
    environment = {
        "DATABASE_URL": "postgresql://x@localhost/x",
        "TELECAST_ENV": "development",
        "NATS_CAMPAIGN_PASSWORD": password,
    }
    with pytest.raises(SettingsError, match="NATS_CAMPAIGN_PASSWORD"):
        load_settings(CampaignSettings, environment)


def test_the_generated_passwords_are_read_as_they_are() -> None:
    for password in generate_passwords().values():
        assert NATS_PASSWORD.match(password)


def test_compose_gives_each_service_its_own_password_only() -> None:
    services = COMPOSE["services"]
    for user in USERS:
        assert passwords(services[user]) == {password_variable(user)}, user
    assert passwords(services["nats"]) == {password_variable(user) for user in USERS}
    assert passwords(services["telegram-sim"]) == set()


def passwords(service: dict) -> set[str]:
    return {
        name
        for name in service["environment"]
        if name.startswith("NATS_") and name.endswith("_PASSWORD")
    }
