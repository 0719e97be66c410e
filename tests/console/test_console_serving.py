"""The gateway serves the built console at / (telecast_gateway/console.py): its routes
answer index.html, hashed assets are cached for good, anything else stays the API's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from telecast_gateway.console import CONSOLE_CSP, console_routes
from telecast_gateway.envelope import exception_handlers
from telecast_gateway.headers import security_headers

INDEX = b"<!doctype html><title>telecast</title><script type=module src=/assets/app-1a2b.js>"


def _client(directory: Path) -> TestClient[Litestar]:
    app = Litestar(
        route_handlers=console_routes(directory),
        exception_handlers=exception_handlers,
        before_send=[security_headers],
    )
    return TestClient(app)


@pytest.fixture
def built(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_bytes(INDEX)
    (tmp_path / "assets" / "app-1a2b.js").write_text("console.log('telecast')")
    return tmp_path


def _console_paths() -> list[str]:
    """Every address of the console's router (console/src/router.ts), with its parameters
    filled in: the gateway must answer each, or a reload there would find no console."""
    router = (Path(__file__).resolve().parents[2] / "console" / "src" / "router.ts").read_text()
    paths = re.findall(r'path: "(/[^"]*)"', router)
    return list(dict.fromkeys(re.sub(r":\w+", "abc", p) for p in paths if "(" not in p))


@pytest.mark.parametrize("path", _console_paths())
def test_every_console_route_reloads_into_the_console(built: Path, path: str) -> None:
    with _client(built) as client:
        answer = client.get(path)
    assert answer.status_code == 200
    assert answer.content == INDEX
    assert answer.headers["content-type"].startswith("text/html")
    # A reload always finds the newest build.
    assert answer.headers["cache-control"] == "no-cache"
    # The console's own policy, not the API's (which would block its scripts).
    assert answer.headers.get_list("content-security-policy") == [CONSOLE_CSP]


def test_hashed_assets_are_cached_for_good(built: Path) -> None:
    with _client(built) as client:
        answer = client.get("/assets/app-1a2b.js")
        missing = client.get("/assets/app-0000.js")
    assert answer.status_code == 200
    assert "immutable" in answer.headers["cache-control"]
    assert "max-age=31536000" in answer.headers["cache-control"]
    assert missing.status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/metrics", "/.env"])
def test_other_paths_still_answer_the_api_404(built: Path, path: str) -> None:
    with _client(built) as client:
        answer = client.get(path)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "NOT_FOUND"
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")


def test_without_a_build_the_root_says_so(tmp_path: Path) -> None:
    with _client(tmp_path / "dist") as client:
        answer = client.get("/campaigns")
    assert answer.status_code == 503
    assert "not built" in answer.text
    assert "Node.js 20" in answer.text
