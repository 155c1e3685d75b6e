"""``[alerts]``: where notifications go and how often, validated like the rest of the config.

Secrets are not here: the webhook URL (it usually carries a token) and the Telegram bot token
come from the environment or systemd credentials at start (``asnd.alerts.destinations``).
The file only says which destinations are on, the Telegram chat and API base URL, the rate
limit per destination and the retry rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from asnd._table import Table, shown

__all__ = [
    "AlertSettings",
    "AlertsSetupError",
    "TelegramSettings",
    "WebhookSettings",
    "parse_alerts",
]

TELEGRAM_API: Final = "https://api.telegram.org"
_HHMM: Final = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
#: A chat id: a number (negative for groups) or a public channel's "@name".
_CHAT: Final = re.compile(r"-?\d{1,20}|@[A-Za-z0-9_]{5,32}")


class AlertsSetupError(Exception):
    """An enabled destination cannot be set up: its secret is missing or unusable
    (``asnd.alerts.destinations``; defined here so the entry point can name it cheaply)."""


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    enabled: bool
    min_interval_ms: int


@dataclass(frozen=True, slots=True)
class TelegramSettings:
    enabled: bool
    chat_id: str
    api_url: str
    min_interval_ms: int


@dataclass(frozen=True, slots=True)
class AlertSettings:
    webhook: WebhookSettings
    telegram: TelegramSettings
    feed_lost_after_s: int  # 0: no feed-lost alerts
    daily_summary_utc: int | None  # minute of the UTC day; None: no daily summary
    queue_size: int  # alerts waiting per destination; more are dropped (and counted)
    attempts: int  # deliveries tried per alert
    retry_initial_ms: int
    retry_max_ms: int
    timeout_ms: int

    @property
    def enabled(self) -> bool:
        return self.webhook.enabled or self.telegram.enabled


def _daily(table: Table) -> int | None:
    text = table.string("daily_summary_utc", "00:00")
    if not text:
        return None
    match = _HHMM.fullmatch(text)
    if match is None:
        raise table.error("daily_summary_utc", f'expected "HH:MM" (UTC) or "", got {shown(text)}')
    return int(match[1]) * 60 + int(match[2])


def _interval(table: Table) -> int:
    return table.integer("min_interval_ms", 1000, maximum=3_600_000)


def parse_alerts(table: Table) -> AlertSettings:
    """The ``[alerts]`` table (absent: everything off, defaults for the rest)."""
    hook = table.table("webhook")
    webhook = WebhookSettings(hook.boolean("enabled", False), _interval(hook))
    hook.finish()
    gram = table.table("telegram")
    enabled = gram.boolean("enabled", False)
    chat = gram.string("chat_id", "")
    if chat and not _CHAT.fullmatch(chat):
        raise gram.error("chat_id", f'expected a chat id like "-1001234567890", got {shown(chat)}')
    if enabled and not chat:
        raise gram.error("chat_id", "required when telegram.enabled = true")
    telegram = TelegramSettings(
        enabled, chat, gram.url("api_url", TELEGRAM_API, ("https", "http")), _interval(gram)
    )
    gram.finish()
    initial = table.integer("retry_initial_ms", 1000, minimum=1)
    maximum = table.integer("retry_max_ms", 60_000, minimum=1)
    if maximum < initial:
        raise table.error("retry_max_ms", f"must be >= retry_initial_ms ({initial})")
    settings = AlertSettings(
        webhook=webhook,
        telegram=telegram,
        feed_lost_after_s=table.integer("feed_lost_after_s", 30, maximum=86_400),
        daily_summary_utc=_daily(table),
        queue_size=table.integer("queue_size", 256, minimum=1, maximum=100_000),
        attempts=table.integer("attempts", 5, minimum=1, maximum=100),
        retry_initial_ms=initial,
        retry_max_ms=maximum,
        timeout_ms=table.integer("timeout_ms", 5000, minimum=1, maximum=120_000),
    )
    table.finish()
    return settings
