"""The shape of the ``status`` result: what the daemon returns and ``asnctl status`` renders.

TypedDicts, so the daemon's handler is type-checked against what the client reads. Money and
quantities are decimal strings (exact, in quote/base units); ages are milliseconds. The daemon
may add keys; asnctl shows the ones below and ignores the rest.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

__all__ = [
    "BookStatus",
    "DaemonStatus",
    "FeedStatus",
    "JournalStatus",
    "SlotStatus",
    "StatusReport",
]


class DaemonStatus(TypedDict):
    venue: str  # "sim" | "bybit-paper" | "bybit-testnet" | "bybit"
    state: str  # "starting" | "reconciling" | "trading" | "halted" | "stopping"
    uptime_s: NotRequired[float]
    # While halted: why, since when (ISO 8601 UTC) and what lifts it ("asnctl resume all").
    reason: NotRequired[str]
    since: NotRequired[str | None]
    clears: NotRequired[str]


class SlotStatus(TypedDict):
    slot: int
    symbol: str
    strategy_id: str
    state: str  # "active" | "reducing" | "dead" | "halted"
    equity: str  # quote currency (USDT), marked to the book
    position: str  # signed, base currency
    pnl: str  # equity minus starting capital
    open_orders: int  # working at the venue or on their way
    last_signal: float | None
    # Why the slot does not trade ("" if nothing stops it), since when (ISO 8601 UTC, None
    # for a condition such as a stale book) and what clears it ("asnctl resume 3").
    reason: NotRequired[str]
    since: NotRequired[str | None]
    clears: NotRequired[str]


class FeedStatus(TypedDict):
    state: str  # "connected" | "reconnecting" | "lost"
    last_message_age_ms: int | None


class BookStatus(TypedDict):
    symbol: str
    state: str  # "synced" | "stale"
    age_ms: int | None


class JournalStatus(TypedDict):
    seq: int  # last appended
    durable_seq: int  # last fsynced
    lag: int  # seq - durable_seq


class StatusReport(TypedDict):
    daemon: DaemonStatus
    slots: list[SlotStatus]
    feed: FeedStatus
    books: list[BookStatus]
    journal: JournalStatus
