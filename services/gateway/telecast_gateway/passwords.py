"""The password policy: long enough, and not one of the passwords attackers try first.

The common passwords are the 30,000 of zxcvbn's frequency list (compiled from leaked
password sets), compared ignoring case; an operator's password is checked when it is set,
never when it is used.
"""

from __future__ import annotations

from functools import cache

from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 10
MAX_LENGTH = 1024


@cache
def _common() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str) -> str | None:
    """Why ``password`` may not be used, or None."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"a password has at most {MAX_LENGTH} characters"
    if password.lower() in _common():
        return "this password is among the most common ones; choose another"
    return None
