"""The Telegram simulator: a development process that plays Telegram for the dispatcher.

Never deployed to production. ``expected_refusal`` predicts a chat's permanent answer
under an error mix, for tests.
"""

from telecast_telegram_sim.rules import expected_refusal, parse_error_mix

__all__ = ["expected_refusal", "parse_error_mix"]
