"""When sending will be done: the one estimator behind ``estimatedCompletion``, in the
execute answer and in progress. Pure: no I/O."""

from __future__ import annotations

from datetime import datetime, timedelta


def estimated_completion(
    now: datetime,
    messages: int,
    rate: float,
    *,
    starts_at: datetime | None = None,
    ahead: int = 0,
) -> datetime | None:
    """The moment the last of ``messages`` is sent at ``rate`` messages per second.

    They start at ``starts_at`` (now when None), but not before the ``ahead`` messages
    queued before them are sent, from now at the same rate. None when the rate is unknown
    (not above 0) or nothing is left to send. Whole seconds: an estimate is no finer."""
    if rate <= 0 or messages <= 0:
        return None
    begins = max(starts_at or now, now + timedelta(seconds=ahead / rate))
    return (begins + timedelta(seconds=messages / rate)).replace(microsecond=0)
