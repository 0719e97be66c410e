"""Crash points for reliability tests: ``TELECAST_FAILPOINTS=relay.after_publish``.

A named failpoint that is switched on ends the process at once (``os._exit``), exactly as a
``kill -9`` at that line would: no cleanup, no flush, no commit. Crash tests use them to
stop a real process between two steps that must survive being separated.
"""

from __future__ import annotations

import os
import sys

EXIT_CODE = 86

_enabled = frozenset(
    name.strip() for name in os.environ.get("TELECAST_FAILPOINTS", "").split(",") if name.strip()
)


def failpoint(name: str) -> None:
    if name in _enabled:
        sys.stderr.write(f"failpoint {name}: exiting\n")
        sys.stderr.flush()
        os._exit(EXIT_CODE)
