"""The whole platform as real processes, against the session's database and namespace."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from telecast_devenv.platform import Platform

ADMIN = {"email": "admin@telecast.local", "password": "telecast"}


@pytest.fixture(scope="module")
def platform(
    database_url: str, nats_url: str, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    # These modules test the API's behaviour; sending is tested on platforms of its own
    # (support.sending.own_platform). Held here, an execution stays as the API left it.
    running = Platform(
        database_url,
        nats_url,
        namespace,
        tmp_path_factory.mktemp("logs"),
        env={"SENDING_ENABLED": "false"},
    )
    try:
        running.start()
        yield running
    except BaseException:
        print(running.logs())
        raise
    finally:
        running.stop()


def login(base_url: str, email: str = ADMIN["email"], password: str = ADMIN["password"]) -> str:
    answer = httpx.post(
        f"{base_url}/api/v1/auth/login", json={"email": email, "password": password}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["accessToken"]


@pytest.fixture(scope="module")
def api(platform: Platform) -> Iterator[httpx.Client]:
    """An administrator's client of the module's platform (a module that overrides
    ``platform`` gets a client of its own)."""
    token = login(platform.base_url)
    with httpx.Client(
        base_url=platform.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        yield client
