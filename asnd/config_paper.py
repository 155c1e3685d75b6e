"""The ``[paper]`` section of the config: paper trading (``venue.kind = "bybit-paper"``).

Read by ``asnd.config`` (every key is documented in ``etc/asnd.toml`` and
``etc/asnd-paper.toml``); the venue itself is ``asnd.venues.paper``. The section is checked
whatever the venue kind (a typo is a typo) and used only by ``bybit-paper``. ``PaperFile`` is
the section as written (decoded by ``asnd.config_decode``); ``paper_settings`` resolves it.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Final, Literal

from msgspec import Meta

from asnd.config_decode import ConfigError, Section, url

__all__ = [
    "PAPER_MARKETS",
    "QUEUE_MODELS",
    "PaperFile",
    "PaperSettings",
    "paper_settings",
]

PaperMarket = Literal["mainnet", "testnet"]
#: ``asnd.core.l2replay``'s queue models.
QueueModel = Literal["worst_case", "proportional"]
#: Which Bybit's public market data to trade on paper: venue kinds of ``BYBIT_ENDPOINTS``.
PAPER_MARKETS: Final[Mapping[PaperMarket, str]] = {"mainnet": "bybit", "testnet": "bybit-testnet"}
QUEUE_MODELS: Final = typing.get_args(QueueModel)
MAX_LATENCY_MS: Final = 10_000
MAX_BALANCE: Final = Decimal(10) ** 9

Latency = Annotated[int, Meta(ge=0, le=MAX_LATENCY_MS)]


class PaperFile(Section):
    market: PaperMarket = "mainnet"
    rest_url: str = ""  # "" = the market's endpoint
    ws_public_url: str = ""
    seed: Annotated[int, Meta(ge=0)] = 1
    latency_min_ms: Latency = 20
    latency_max_ms: Latency = 60
    queue: QueueModel = "worst_case"
    balance: Annotated[Decimal, Meta(extra={"le": MAX_BALANCE})] = Decimal(10_000)  # USDT


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


def paper_settings(raw: PaperFile, endpoints: Mapping[str, tuple[str, str, str]]) -> PaperSettings:
    """``[paper]`` resolved; ``endpoints`` are ``asnd.config.BYBIT_ENDPOINTS``."""
    rest, public, _private = endpoints[PAPER_MARKETS[raw.market]]
    low, high = raw.latency_min_ms, raw.latency_max_ms
    if high < low:
        raise ConfigError(f"paper.latency_max_ms: must be >= latency_min_ms ({low}), got {high}")
    return PaperSettings(
        market=raw.market,
        rest_url=url("paper.rest_url", raw.rest_url, rest, ("https", "http")),
        ws_public_url=url("paper.ws_public_url", raw.ws_public_url, public, ("wss", "ws")),
        seed=raw.seed,
        latency_min_ms=low,
        latency_max_ms=high,
        queue=raw.queue,
        balance=raw.balance,
    )
