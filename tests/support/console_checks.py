"""What the console's tests need from the machine, and what its absence means."""

from __future__ import annotations

import os

import pytest


def unavailable(reason: str) -> None:
    """Locally: skip, saying why. In CI (``CI=true``): fail, so that a CI machine without
    Node or a browser cannot pass by testing nothing."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the console's tests must run)")
    pytest.skip(reason)
