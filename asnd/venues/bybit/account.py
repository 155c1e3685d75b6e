"""What the Bybit account looks like before we trade on it: read-only v5 queries only.

``read_account`` asks, in Bybit v5's shapes:

- ``/v5/market/time``: the server clock and our offset from it;
- ``/v5/account/info``: ``unifiedMarginStatus`` (1 classic account; 3/4 unified 1.0 (pro);
  5/6 unified 2.0 (pro)) and ``marginMode``;
- ``/v5/market/instruments-info`` per symbol: ``contractType`` (``LinearPerpetual``),
  ``settleCoin`` (``USDT``) and ``status`` (``Trading``);
- ``/v5/position/list`` per symbol: ``positionIdx`` 0 in one-way mode, 1 and 2 (the buy and
  the sell side) in hedge mode, where Bybit lists both rows even when flat;
- ``/v5/account/wallet-balance?accountType=UNIFIED``: ``totalEquity``,
  ``totalAvailableBalance`` and the USDT coin's ``equity``;
- ``/v5/order/realtime`` per symbol: the open orders.

Nothing here creates, amends or cancels anything: the checks (``asnd.readiness``) and
``asnd check-venue`` must be safe to run against an account that holds money.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from asnd.venues.base import OrderRejectedError, VenueError
from asnd.venues.bybit.rest import BybitRest
from asnd.venues.bybit.wire import InstrumentRow, OrderRow, PositionRow

__all__ = ["UNIFIED_STATUSES", "AccountAnswers", "WalletView", "read_account"]

#: ``unifiedMarginStatus`` values of a unified trading account (Bybit: 1 is classic).
UNIFIED_STATUSES = frozenset({3, 4, 5, 6})


@dataclass(frozen=True, slots=True)
class WalletView:
    """The unified wallet in USDT (decimal strings from the venue, parsed)."""

    account_type: str
    total_equity: Decimal
    total_available: Decimal
    usdt_equity: Decimal | None  # None: the wallet holds no USDT row


@dataclass(frozen=True, slots=True)
class AccountAnswers:
    """The venue's answers, as read; ``asnd.readiness.findings`` judges them."""

    server_ms: int
    offset_ms: int  # server clock minus ours (ms)
    unified_status: int | None  # None: the answer had none
    margin_mode: str
    #: symbol -> its instruments-info row, None when Bybit lists no such linear symbol
    instruments: dict[str, InstrumentRow | None]
    positions: dict[str, list[PositionRow]]
    #: None with ``wallet_error`` set when the balance could not be read (classic account)
    wallet: WalletView | None
    wallet_error: str
    open_orders: dict[str, list[OrderRow]]


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        raise VenueError(f"bybit wallet-balance: not a number: {value!r}") from None


def wallet_view(result: dict[str, Any]) -> WalletView | None:
    """The first account of a ``/v5/account/wallet-balance`` result (None: empty list)."""
    rows = result.get("list") or []
    if not rows:
        return None
    row = rows[0]
    usdt = next((c for c in row.get("coin") or [] if c.get("coin") == "USDT"), None)
    return WalletView(
        str(row.get("accountType", "")),
        _decimal(row.get("totalEquity")),
        _decimal(row.get("totalAvailableBalance")),
        None if usdt is None else _decimal(usdt.get("equity")),
    )


async def read_account(rest: BybitRest, symbols: Sequence[str]) -> AccountAnswers:
    """Every answer the readiness checks need, by read-only requests on an entered ``rest``."""
    offset = await rest.sync_time()
    info = await rest.account_info()
    status = info.get("unifiedMarginStatus")
    instruments: dict[str, InstrumentRow | None] = {}
    positions: dict[str, list[PositionRow]] = {}
    orders: dict[str, list[OrderRow]] = {}
    for symbol in symbols:
        rows = [r for r in await rest.instruments(symbol) if r.symbol == symbol]
        instruments[symbol] = rows[0] if rows else None
        if rows:  # a symbol Bybit does not list has no positions or orders to ask about
            positions[symbol] = await rest.positions(symbol)
            orders[symbol] = await rest.open_orders(symbol)
    wallet: WalletView | None = None
    error = ""
    try:
        wallet = wallet_view(await rest.wallet_balance("UNIFIED"))
    except OrderRejectedError as exc:  # e.g. a classic account has no UNIFIED wallet
        error = str(exc)
    return AccountAnswers(
        server_ms=rest.now_ms(),
        offset_ms=offset,
        unified_status=status if isinstance(status, int) else None,
        margin_mode=str(info.get("marginMode", "")),
        instruments=instruments,
        positions=positions,
        wallet=wallet,
        wallet_error=error,
        open_orders=orders,
    )
