"""The ``[paper]`` section of the config: paper trading (``venue.kind = "bybit-paper"``).

Read by ``asnd.config`` (every key is documented in ``etc/asnd.toml`` and
``etc/asnd-paper.toml``); the venue itself is ``asnd.venues.paper``. The section is checked
whatever the venue kind (a typo is a typo) and used only by ``bybit-paper``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from asnd._table import Table

__all__ = ["PAPER_MARKETS", "QUEUE_MODELS", "PaperSettings", "parse_paper"]

#: Which Bybit's public market data to trade on paper: venue kinds of ``BYBIT_ENDPOINTS``.
PAPER_MARKETS: Final = {"mainnet": "bybit", "testnet": "bybit-testnet"}
#: ``asnd.core.l2replay``'s queue models.
QUEUE_MODELS: Final = ("worst_case", "proportional")
MAX_LATENCY_MS: Final = 10_000
MAX_BALANCE: Final = Decimal(10) ** 9

#: ``asnd.config._url``: (table, key, default, (secure, plain scheme)) -> checked URL.
UrlCheck = Callable[[Table, str, str, tuple[str, str]], str]


@dataclass(frozen=True, slots=True)
class PaperSettings:
    market: str  # "mainnet" | "testnet"
    rest_url: str  # public REST (instruments); the market's default unless overridden
    ws_public_url: str
    seed: int
    latency_min_ms: int
    latency_max_ms: int
    queue: str
    balance: Decimal  # USDT


def parse_paper(
    table: Table, endpoints: Mapping[str, tuple[str, str, str]], url: UrlCheck
) -> PaperSettings:
    """``[paper]``; ``endpoints`` are ``asnd.config.BYBIT_ENDPOINTS``, ``url`` checks one."""
    market = table.choice("market", tuple(PAPER_MARKETS), "mainnet")
    rest, public, _private = endpoints[PAPER_MARKETS[market]]
    low = table.integer("latency_min_ms", 20, maximum=MAX_LATENCY_MS)
    high = table.integer("latency_max_ms", 60, maximum=MAX_LATENCY_MS)
    if high < low:
        raise table.error("latency_max_ms", f"must be >= latency_min_ms ({low}), got {high}")
    settings = PaperSettings(
        market=market,
        rest_url=url(table, "rest_url", rest, ("https", "http")),
        ws_public_url=url(table, "ws_public_url", public, ("wss", "ws")),
        seed=table.integer("seed", 1),
        latency_min_ms=low,
        latency_max_ms=high,
        queue=table.choice("queue", QUEUE_MODELS, "worst_case"),
        balance=table.decimal("balance", Decimal(10_000), maximum=MAX_BALANCE),
    )
    table.finish()
    return settings
