"""Deployment steps that run ``migrate`` at the same moment (two hosts, a retried job) do not
collide: each succeeds, the migrations run once, and the schema ends at the newest."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import psycopg

from telecast_devenv.platform import MODULES
from telecast_devenv.schemas import history
from telecast_libs.migrations import History, current_revision, migrate

RUNS = 4


def _at_once(database_url: str, target: History) -> list[tuple[str | None, str]]:
    start = threading.Barrier(RUNS)

    def run() -> tuple[str | None, str]:
        start.wait()
        return migrate(database_url, target)

    with ThreadPoolExecutor(RUNS) as runs:
        return [future.result() for future in [runs.submit(run) for _ in range(RUNS)]]


def test_concurrent_migrate_runs_apply_each_migration_once(
    new_database: Callable[[], str],
) -> None:
    for module in MODULES.values():
        target = history(module)
        database_url = new_database()

        outcomes = _at_once(database_url, target)

        # One run found the schema empty and migrated it; the others found it done.
        assert sorted(outcomes, key=str) == sorted(
            [(None, target.head())] + [(target.head(), target.head())] * (RUNS - 1), key=str
        )
        assert current_revision(database_url, target) == target.head()
        with psycopg.connect(database_url) as conn:
            rows = conn.execute(f"SELECT count(*) FROM {target.schema}.alembic_version").fetchone()
        assert rows == (1,)
