"""The web console's weight and first load: ``python -m bench.console_load``.

Prints the gzipped JavaScript the console loads before any chart (every chunk but
ECharts') and what its first screen needs, then times in Chromium, with a cold cache each
time, on loopback against a platform of its own: the sign-in screen from navigation to its
"Sign in" button, and from that click to the dashboard with its recent campaigns.
"""

from __future__ import annotations

import asyncio
import gzip
import secrets
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from telecast_devenv import console, resolve
from telecast_devenv.databases import create_database, drop_database
from telecast_devenv.jetstream import delete_streams
from telecast_devenv.platform import Platform

ROUNDS = 10
# The page notes, by its own clock (from the navigation's start), when the "Sign in" button
# appears: Playwright's round trips to a busy browser are not the page's time.
SIGN_IN_SHOWN = """
new MutationObserver((_, observer) => {
  if ([...document.querySelectorAll("button")].some((b) => b.textContent.includes("Sign in"))) {
    window.signInShownAt = performance.now();
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true });
"""
ADMIN = {"email": "admin@telecast.local", "password": "telecast"}


def _gz(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=6))


def weights(dist: Path) -> dict[str, int]:
    """Gzipped bytes: all JavaScript but the charts', and the charts'."""
    scripts = sorted((dist / "assets").glob("*.js"))
    charts = [p for p in scripts if p.name.startswith("echarts")]
    return {
        "before charts": sum(_gz(p) for p in scripts if p not in charts),
        "charts": sum(_gz(p) for p in charts),
    }


def logins(base_url: str) -> list[float]:
    """Milliseconds of POST /api/v1/auth/login alone: argon2 checks the password on
    purpose slowly, and signing in waits for it."""
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        httpx.post(f"{base_url}/api/v1/auth/login", json=ADMIN).raise_for_status()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def first_loads(base_url: str, chromium: str, dist: Path) -> tuple[list[float], list[float], int]:
    """Milliseconds: to the sign-in screen (SIGN_IN_SHOWN), and from signing in to the
    dashboard; and the
    gzipped bytes of the scripts the browser fetched for the sign-in screen."""
    to_sign_in: list[float] = []
    to_dashboard: list[float] = []
    fetched: set[str] = set()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        for _ in range(ROUNDS):
            context = browser.new_context(base_url=base_url)  # a cold cache each round
            page = context.new_page()
            scripts: set[str] = set()
            page.on(
                "response", lambda r, s=scripts: s.add(r.url) if r.url.endswith(".js") else None
            )
            page.add_init_script(SIGN_IN_SHOWN)
            page.goto("/login")
            page.get_by_role("button", name="Sign in").wait_for()
            to_sign_in.append(page.evaluate("window.signInShownAt"))
            fetched = fetched or set(scripts)
            page.get_by_label("Email").fill(ADMIN["email"])
            page.get_by_label("Password").fill(ADMIN["password"])
            started = time.perf_counter()
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("heading", name="Recent campaigns").wait_for()
            page.get_by_role("link", name="All campaigns").wait_for()
            to_dashboard.append((time.perf_counter() - started) * 1000)
            context.close()
        browser.close()
    first_screen = sum(_gz(dist / "assets" / url.rsplit("/", 1)[1]) for url in fetched)
    return to_sign_in, to_dashboard, first_screen


def main() -> None:
    console.build()
    sizes = weights(console.DIST)
    for name, size in sizes.items():
        print(f"JavaScript, {name}: {size / 1024:.0f} KB gzipped")
    chromium = shutil.which("chromium")
    if not chromium:
        raise SystemExit("Chromium is not installed (apt-get install -y chromium)")
    infra = resolve("test")
    database = f"telecast_b_{secrets.token_hex(4)}"
    namespace = f"b{secrets.token_hex(4)}"
    url = create_database(infra.database_url, database)
    platform = Platform(url, infra.nats_url, namespace, Path(tempfile.mkdtemp()))
    try:
        platform.start()
        sign_in, dashboard, first_screen = first_loads(platform.base_url, chromium, console.DIST)
        login = logins(platform.base_url)
    finally:
        platform.stop()
        asyncio.run(delete_streams(infra.nats_url, f"{namespace.upper()}_"))
        drop_database(infra.database_url, database)
        infra.stop()
    timed = (
        ("sign-in screen", sign_in),
        ("sign in → dashboard", dashboard),
        ("of which the login request", login),
    )
    print(f"JavaScript, the sign-in screen's: {first_screen / 1024:.0f} KB gzipped")
    for name, samples in timed:
        print(
            f"{name}: median {statistics.median(samples):.0f} ms, "
            f"max {max(samples):.0f} ms over {ROUNDS} cold loads"
        )


if __name__ == "__main__":
    main()
