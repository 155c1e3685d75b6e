"""The matching engine's vocabulary: time in force, self-trade prevention, reject codes,
the fee model signature, and the read-only views it hands out. Constants are plain ints, not
Enums: they are compared on every order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = [
    "FOK",
    "GTC",
    "IOC",
    "POST_ONLY",
    "REJECT_BAD_PRICE",
    "REJECT_BAD_SIDE",
    "REJECT_BAD_SIZE",
    "REJECT_BAD_TIF",
    "REJECT_DUPLICATE_ID",
    "REJECT_OFF_GRID",
    "REJECT_UNKNOWN_ORDER",
    "REJECT_WOULD_CROSS",
    "STP_CANCEL_BOTH",
    "STP_CANCEL_MAKER",
    "STP_CANCEL_TAKER",
    "STP_NONE",
    "TIF_BY_NAME",
    "EngineStats",
    "FeeModel",
    "OrderView",
    "reject_reason",
]

# Time in force.
GTC: Final = 0
IOC: Final = 1
FOK: Final = 2
POST_ONLY: Final = 3
#: ``OrderIntent.tif`` strings to engine constants.
TIF_BY_NAME: Final[dict[str, int]] = {"GTC": GTC, "IOC": IOC, "FOK": FOK, "PostOnly": POST_ONLY}

STP_NONE: Final = 0
STP_CANCEL_TAKER: Final = 1
STP_CANCEL_MAKER: Final = 2
STP_CANCEL_BOTH: Final = 3

# ASN-local reject codes (negative, so they never collide with a venue's retCode).
REJECT_BAD_SIZE: Final = -101
REJECT_BAD_PRICE: Final = -102
REJECT_OFF_GRID: Final = -103
REJECT_UNKNOWN_ORDER: Final = -104
REJECT_WOULD_CROSS: Final = -105
REJECT_DUPLICATE_ID: Final = -106
REJECT_BAD_SIDE: Final = -107
REJECT_BAD_TIF: Final = -108

#: ``fee(price_ticks, qty_lots, is_maker) -> fee_e8`` (negative = rebate). Default: no fees.
FeeModel = Callable[[int, int, bool], int]

TIFS: Final = frozenset({GTC, IOC, FOK})
RESTING: Final = frozenset({GTC, POST_ONLY})
UNFILLED: Final[dict[int, str]] = {
    IOC: "IOC remainder",
    FOK: "FOK not fillable",
    GTC: "cancelled",
    POST_ONLY: "cancelled",
}
#: A buy "market" limit above any real price (ticks are far below 2**62).
NO_LIMIT: Final = 1 << 62


@dataclass(frozen=True, slots=True)
class OrderView:
    """A resting order as the engine sees it."""

    order_id: int
    owner: int
    link_id: str
    side: int
    price_ticks: int
    leaves_lots: int


@dataclass(slots=True)
class EngineStats:
    """Running totals in lots, for conservation checks: submitted = filled + resting + cancelled."""

    submitted_lots: int = 0
    filled_lots: int = 0  # counted once per side of each match (maker and taker)
    cancelled_lots: int = 0


_REASONS: Final[dict[int, str]] = {
    REJECT_BAD_SIZE: "{what} {value} lots is not a positive multiple of {lot_step}",
    REJECT_BAD_PRICE: "{what} {value} ticks is not positive",
    REJECT_OFF_GRID: "{what} {value} ticks is off the {px_step}-tick grid",
    REJECT_DUPLICATE_ID: "{what} {value} is already live",
    REJECT_BAD_SIDE: "{what} {value} is neither BUY (1) nor SELL (-1)",
    REJECT_BAD_TIF: "{what} {value} is not GTC, IOC, FOK or POST_ONLY",
    REJECT_WOULD_CROSS: "post-only order at {what} {value} would take liquidity",
}


def reject_reason(code: int, value: int, what: str, lot_step: int, px_step: int) -> str:
    """The sentence an ``OrderRejected`` carries for an ASN-local reject ``code``."""
    return _REASONS[code].format(what=what, value=value, lot_step=lot_step, px_step=px_step)
