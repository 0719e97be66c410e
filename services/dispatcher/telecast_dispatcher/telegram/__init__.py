"""Telegram behind a port: the port (``port``), its two adapters (``pyrogram_adapter`` for
real Telegram, ``simulator_adapter`` for the Telegram simulator) and the accounts read from
the environment (``accounts``)."""
