"""Every service's schema migrated, as the deployment's migrate step does it.

For ``make run``, the platforms the tests and benchmarks start, and the databases tests
make for themselves. In-process rather than five ``python -m telecast_<service> migrate``
processes: the same migrations, without starting five interpreters per platform.
"""

from __future__ import annotations

import importlib

from telecast_libs.migrations import History, migrate


def history(module: str) -> History:
    """The migrations of the service whose package is ``module`` (``telecast_campaign``)."""
    return importlib.import_module(f"{module}.migrations").HISTORY


def migrate_all(database_url: str) -> None:
    """Every service's schema (the simulator's too: it is part of every platform)."""
    from telecast_devenv.platform import MODULES  # here: the platform imports this module

    for module in MODULES.values():
        migrate(database_url, history(module))
