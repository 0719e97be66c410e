"""Guards: when an execution must stop on its own. Pure: counters in, a decision out.

- Error rate: among the outcomes since the execution started or was last resumed (at least
  ``min_outcomes`` of them), more failures than ``max_error_rate`` pauses it; an operator
  looks at what went wrong and resumes.
- Budget: with a cost per message, messages sent times that cost reaching the campaign's
  budget pauses it; raising the budget and resuming goes on. (Sends already under way when
  the guard trips complete: the overshoot is at most one recorder batch.)
- ``endDate`` is the campaign service's scheduler's: it completes the campaign, and the
  dispatcher stops on the completed event.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GuardSettings:
    max_error_rate: float = 0.5
    min_outcomes: int = 100
    cost_per_message: float = 0.0


@dataclass(frozen=True)
class Trip:
    code: str
    reason: str


def check(
    settings: GuardSettings,
    *,
    sent: int,
    guard_sent: int,
    guard_failed: int,
    budget: float | None,
) -> Trip | None:
    cost = settings.cost_per_message
    if cost > 0 and budget is not None and sent * cost >= budget:
        return Trip(
            "BUDGET_EXHAUSTED",
            f"budget exhausted: {sent} messages at {cost:g} each reach the budget of {budget:g}",
        )
    outcomes = guard_sent + guard_failed
    if settings.max_error_rate < 1 and outcomes >= settings.min_outcomes:
        rate = guard_failed / outcomes
        if rate > settings.max_error_rate:
            return Trip(
                "ERROR_RATE",
                f"error rate {rate:.0%} over the {settings.max_error_rate:.0%} threshold "
                f"({guard_failed} of {outcomes} sends failed)",
            )
    return None
