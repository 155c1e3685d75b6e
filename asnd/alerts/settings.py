"""``[alerts]``: where notifications go and how often, validated like the rest of the config.

Secrets are not here: the webhook URL (it usually carries a token) and the Telegram bot token
come from the environment or systemd credentials at start (``asnd.alerts.destinations``).
The file only says which destinations are on, the Telegram chat and API base URL, the rate
limit per destination and the retry rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Final

import msgspec
from msgspec import Meta

from asnd.config_decode import ConfigError, Section, decode, shown, url

__all__ = [
    "AlertSettings",
    "AlertsFile",
    "AlertsSetupError",
    "TelegramSettings",
    "WebhookSettings",
    "alert_settings",
    "parse_alerts",
]

TELEGRAM_API: Final = "https://api.telegram.org"
_HHMM: Final = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
#: A chat id: a number (negative for groups) or a public channel's "@name".
_CHAT: Final = re.compile(r"-?\d{1,20}|@[A-Za-z0-9_]{5,32}")
#: The least time between two alerts to one destination.
Interval = Annotated[int, Meta(ge=0, le=3_600_000)]


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


class WebhookFile(Section):
    enabled: bool = False
    min_interval_ms: Interval = 1000


class TelegramFile(Section):
    enabled: bool = False
    chat_id: str = ""  # required when enabled
    api_url: str = ""  # "" = TELEGRAM_API; plain http only to loopback (the test stand-in)
    min_interval_ms: Interval = 1000


class AlertsFile(Section):
    """``[alerts]`` as written in the file (``asnd.config_decode`` words its errors)."""

    webhook: WebhookFile = msgspec.field(default_factory=WebhookFile)
    telegram: TelegramFile = msgspec.field(default_factory=TelegramFile)
    feed_lost_after_s: Annotated[int, Meta(ge=0, le=86_400)] = 30
    daily_summary_utc: str = "00:00"  # "HH:MM" UTC, "" = off
    queue_size: Annotated[int, Meta(ge=1, le=100_000)] = 256
    attempts: Annotated[int, Meta(ge=1, le=100)] = 5
    retry_initial_ms: Annotated[int, Meta(ge=1)] = 1000
    retry_max_ms: Annotated[int, Meta(ge=1)] = 60_000
    timeout_ms: Annotated[int, Meta(ge=1, le=120_000)] = 5000


def _daily(text: str) -> int | None:
    if not text:
        return None
    match = _HHMM.fullmatch(text)
    if match is None:
        raise ConfigError(
            f'alerts.daily_summary_utc: expected "HH:MM" (UTC) or "", got {shown(text)}'
        )
    return int(match[1]) * 60 + int(match[2])


def alert_settings(raw: AlertsFile) -> AlertSettings:
    """The checked ``[alerts]`` settings from the decoded table: what spans keys."""
    gram = raw.telegram
    chat = gram.chat_id
    if chat and not _CHAT.fullmatch(chat):
        raise ConfigError(
            f'alerts.telegram.chat_id: expected a chat id like "-1001234567890", got {shown(chat)}'
        )
    if gram.enabled and not chat:
        raise ConfigError("alerts.telegram.chat_id: required when telegram.enabled = true")
    api = url("alerts.telegram.api_url", gram.api_url, TELEGRAM_API, ("https", "http"))
    if raw.retry_max_ms < raw.retry_initial_ms:
        raise ConfigError(
            f"alerts.retry_max_ms: must be >= retry_initial_ms ({raw.retry_initial_ms})"
        )
    return AlertSettings(
        webhook=WebhookSettings(raw.webhook.enabled, raw.webhook.min_interval_ms),
        telegram=TelegramSettings(gram.enabled, chat, api, gram.min_interval_ms),
        feed_lost_after_s=raw.feed_lost_after_s,
        daily_summary_utc=_daily(raw.daily_summary_utc),
        queue_size=raw.queue_size,
        attempts=raw.attempts,
        retry_initial_ms=raw.retry_initial_ms,
        retry_max_ms=raw.retry_max_ms,
        timeout_ms=raw.timeout_ms,
    )


def parse_alerts(data: dict[str, Any]) -> AlertSettings:
    """The ``[alerts]`` table as parsed TOML (absent: ``{}``, everything off)."""
    return alert_settings(decode(data, AlertsFile, "alerts"))
