"""Which A/B variation of a campaign message a recipient gets.

The choice is a function of the campaign and the recipient only: SHA-256 of
``"<campaign id>:<contact id>"`` gives the recipient a bucket from 0 to 9,999, and the
message's variations, in order, take consecutive ranges of buckets in proportion to their
weights (percentages: 50 is buckets 0 to 4,999); the message's own content takes the rest.
Every replica, every rerun and every preview therefore agree, with no state to share.

A recipient keeps the same bucket for every message of a campaign, so the arms of a test are
consistent across its messages; another campaign draws anew.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

BUCKETS = 10_000
# A weight is a percentage: one point of weight is this many buckets.
_BUCKETS_PER_POINT = BUCKETS // 100


def bucket(campaign_id: str, contact_id: str) -> int:
    """The recipient's bucket in this campaign, 0 to 9,999."""
    digest = hashlib.sha256(f"{campaign_id}:{contact_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def choose(campaign_id: str, contact_id: str, message: Mapping[str, Any]) -> str | None:
    """The id of the variation ``contact_id`` receives, or None for the message's own
    content. ``message`` is in its stored form: ``{"variations": [{"id", "weight"}, …]}``."""
    drawn = bucket(campaign_id, contact_id)
    upper = 0
    for variation in message.get("variations") or ():
        upper += int(variation["weight"]) * _BUCKETS_PER_POINT
        if drawn < upper:
            return str(variation["id"])
    return None
