"""The simulator's settings (environment variables, see docs/telegram-simulator.md)."""

from __future__ import annotations

from telecast_libs.settings import CommonSettings, SettingsError
from telecast_telegram_sim.rules import parse_error_mix


class SimulatorSettings(CommonSettings, kw_only=True):
    telegram_sim_host: str = "127.0.0.1"
    telegram_sim_port: int = 9210
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9104
    # Account names it accepts sends from (comma-separated).
    telegram_sim_accounts: str = "sim-bot-1"
    # Limits; 0 = unlimited.
    telegram_sim_account_rate: int = 30
    telegram_sim_private_chat_rate: int = 1
    telegram_sim_group_rate_per_minute: int = 20
    telegram_sim_latency_ms: float = 5.0
    telegram_sim_jitter_ms: float = 2.0
    # "ERROR_ID=fraction,…"; empty: every send accepted.
    telegram_sim_error_mix: str = ""
    telegram_sim_read_rate: float = 0.0
    telegram_sim_click_rate: float = 0.0
    # Chats where the accounts are not admins: invite links answer CHAT_ADMIN_REQUIRED.
    telegram_sim_not_admin_chats: str = ""
    telegram_sim_seed: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            parse_error_mix(self.telegram_sim_error_mix)
        except ValueError as error:
            raise SettingsError(f"environment variable TELEGRAM_SIM_ERROR_MIX: {error}") from None
        try:
            self.not_admin_chats()
        except ValueError:
            raise SettingsError(
                "environment variable TELEGRAM_SIM_NOT_ADMIN_CHATS: expected chat ids"
            ) from None
        if not self.account_names():
            raise SettingsError("environment variable TELEGRAM_SIM_ACCOUNTS: name an account")
        for name in (
            "telegram_sim_account_rate",
            "telegram_sim_private_chat_rate",
            "telegram_sim_group_rate_per_minute",
            "telegram_sim_latency_ms",
            "telegram_sim_jitter_ms",
        ):
            if getattr(self, name) < 0:
                raise SettingsError(f"environment variable {name.upper()}: must not be negative")
        for name in ("telegram_sim_read_rate", "telegram_sim_click_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise SettingsError(f"environment variable {name.upper()}: must be in [0, 1]")

    def account_names(self) -> set[str]:
        return {name.strip() for name in self.telegram_sim_accounts.split(",") if name.strip()}

    def not_admin_chats(self) -> set[int]:
        return {int(c) for c in self.telegram_sim_not_admin_chats.split(",") if c.strip()}
