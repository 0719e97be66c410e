"""The dispatcher service: webhook delivery today; the Telegram sending pipeline later."""
