"""A/B results of a campaign's messages: pure, from the per-arm counts the delivery view
keeps (``delivery_variations``).

Each message with variations is one test; its arms are its variations and its own content
("original"). The two best arms on the conversion rate (or the click rate, when nothing has
converted yet) are compared with a two-proportion z-test; the better one is the winner
once p < 0.05.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from telecast_libs.contracts.views import AbSignificance, AbTest, AbVariant

ORIGINAL = "original"
SIGNIFICANCE = 0.05
# What an A/B test shows, by campaign status.
_TEST_STATUS = {
    "draft": "draft",
    "scheduled": "draft",
    "active": "running",
    "paused": "running",
    "completed": "completed",
    "cancelled": "completed",
}


def z_test(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """(z, two-sided p) of the difference between the proportions x1/n1 and x2/n2."""
    if n1 == 0 or n2 == 0:
        return 0.0, 1.0
    pooled = (x1 + x2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if spread == 0:
        return 0.0, 1.0
    z = (x1 / n1 - x2 / n2) / spread
    return z, math.erfc(abs(z) / math.sqrt(2))


def _rate(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def ab_tests(
    campaign_status: str,
    messages: list[Mapping[str, Any]],
    counts: Mapping[tuple[str, str], tuple[int, int, int, float]],
) -> list[AbTest]:
    """``messages`` as stored (``{"id", "variations": [{"id", "weight"}]}``); ``counts`` by
    (message id, variation id or "" for the original): (recipients, clickers, converters,
    revenue)."""
    tests = []
    for message in messages:
        variations = message.get("variations") or []
        if not variations or message.get("id") is None:
            continue
        message_id = str(message["id"])
        arms = [(None, 100 - sum(int(v["weight"]) for v in variations))]
        arms += [(str(v["id"]), int(v["weight"])) for v in variations]
        variants = []
        for variation_id, weight in arms:
            recipients, clicked, converted, revenue = counts.get(
                (message_id, variation_id or ""), (0, 0, 0, 0.0)
            )
            variants.append(
                AbVariant(
                    variation_id=variation_id,
                    weight=weight,
                    recipients=recipients,
                    clicked=clicked,
                    converted=converted,
                    revenue=float(revenue),
                    click_rate=_rate(clicked, recipients),
                    conversion_rate=_rate(converted, recipients),
                )
            )
        significance, winner = _compare(variants)
        tests.append(
            AbTest(
                id=f"ab-{message_id}",
                name=f"Variations of message {message_id}",
                status=_TEST_STATUS.get(campaign_status, "running"),
                message_id=message_id,
                variants=variants,
                significance=significance,
                winner=winner,
            )
        )
    return tests


def _compare(variants: list[AbVariant]) -> tuple[AbSignificance | None, str | None]:
    converted = any(v.converted for v in variants)
    clicked = any(v.clicked for v in variants)
    if not converted and not clicked:
        return None, None
    metric = "conversionRate" if converted else "clickRate"

    def successes(variant: AbVariant) -> int:
        return variant.converted if converted else variant.clicked

    ranked = sorted(
        (v for v in variants if v.recipients),
        key=lambda v: successes(v) / v.recipients,
        reverse=True,
    )
    if len(ranked) < 2:
        return None, None
    best, second = ranked[0], ranked[1]
    z, p = z_test(successes(best), best.recipients, successes(second), second.recipients)
    significant = p < SIGNIFICANCE
    significance = AbSignificance(
        metric=metric, z_score=round(z, 3), p_value=round(p, 4), significant=significant
    )
    winner = (best.variation_id or ORIGINAL) if significant else None
    return significance, winner
