"""Sending campaign messages through Telegram: plan, queue, limit, send, record."""
