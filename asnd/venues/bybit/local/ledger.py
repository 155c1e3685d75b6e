"""The local venue account's ledger: one-way positions and the unified USDT wallet.

Bybit reports, for each position, its value, margin, mark-to-market profit and an estimated
liquidation price, and for the wallet its balance, equity and margins; real clients (ccxt,
pybit) read those fields, so the local venue keeps the numbers behind them. Entry cost stays in
exact integer ``ticks * lots``; money (PnL, fees, margin) is ``Decimal`` USDT. The margin model
is deliberately simple (one leverage, one maintenance rate, cross margin) and says so: the
numbers are consistent with each other, not Bybit's risk-limit tiers.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final

from journal.decimals import Scale

__all__ = ["LEVERAGE", "LocalPosition", "Wallet", "money_text"]

LEVERAGE: Final = Decimal(10)
MAINTENANCE_RATE: Final = Decimal("0.005")  # Bybit's first risk tier of BTCUSDT
_E8 = Decimal("0.00000001")


def money_text(value: Decimal) -> str:
    """A USDT amount as Bybit writes it: plain decimal, at most 8 places, no exponent."""
    value = value.quantize(_E8)
    if not value:
        return "0"
    return format(value.normalize(), "f")


@dataclass(slots=True)
class LocalPosition:
    """One symbol's one-way position (``positionIdx`` 0)."""

    tick: Scale
    lot: Scale
    lots: int = 0  # signed: > 0 long, < 0 short
    # Sum of price * lots of the open position (its entry value), exact: a partial close takes
    # its share exactly, as Bybit's realised PnL does. Floored to whole tick-lots it made the
    # realised PnL drift from the daemon's exact ledger by up to a tick-lot per partial close.
    cost_ticks_lots: Fraction = Fraction(0)
    cum_realised: Decimal = Decimal(0)  # every closed PnL and fee since the account opened
    cur_realised: Decimal = Decimal(0)  # the same, for the position open now
    created_ms: int = 0
    updated_ms: int = 0

    def money(self, ticks_lots: int | Fraction) -> Decimal:
        """``ticks * lots`` in USDT (a fraction to Decimal's 28 digits)."""
        exact = Fraction(ticks_lots)
        unit = Decimal(self.tick.text(1)) * Decimal(self.lot.text(1))
        return unit * exact.numerator / exact.denominator

    def apply_fill(self, signed_lots: int, price_ticks: int, fee: Decimal, now_ms: int) -> int:
        """Book one fill; returns the lots it closed (Bybit's ``closedSize``)."""
        closed = 0
        if self.lots == 0 or (self.lots > 0) == (signed_lots > 0):
            if self.lots == 0:
                self.created_ms, self.cur_realised = now_ms, Decimal(0)
            self.cost_ticks_lots += price_ticks * abs(signed_lots)
        else:  # reducing: what remains keeps its entry price
            closed = min(abs(signed_lots), abs(self.lots))
            cost_closed = self.cost_ticks_lots * closed / abs(self.lots)
            pnl_ticks_lots = price_ticks * closed - cost_closed
            pnl = self.money(pnl_ticks_lots if self.lots > 0 else -pnl_ticks_lots)
            self.cum_realised += pnl
            self.cur_realised += pnl
            self.cost_ticks_lots -= cost_closed
            if abs(signed_lots) > closed:  # flipped: the rest opens at this price
                self.cost_ticks_lots = Fraction(price_ticks * (abs(signed_lots) - closed))
                self.created_ms, self.cur_realised = now_ms, Decimal(0)
        self.lots += signed_lots
        if self.lots == 0:
            self.cost_ticks_lots = Fraction(0)
        self.cum_realised -= fee
        self.cur_realised -= fee
        self.updated_ms = now_ms
        return closed

    def entry(self) -> Decimal:
        """The average entry price (0 when flat)."""
        if not self.lots:
            return Decimal(0)
        return self.money(self.cost_ticks_lots) / Decimal(self.lot.text(abs(self.lots)))

    def value(self) -> Decimal:
        """Bybit's ``positionValue``: the size at the entry price."""
        return self.money(self.cost_ticks_lots)

    def unrealised(self, mark: Decimal) -> Decimal:
        """Mark-to-market profit of the open position at ``mark``."""
        if not self.lots:
            return Decimal(0)
        pnl = mark * Decimal(self.lot.text(abs(self.lots))) - self.value()
        return pnl if self.lots > 0 else -pnl

    def initial_margin(self) -> Decimal:
        return self.value() / LEVERAGE

    def maintenance_margin(self) -> Decimal:
        return self.value() * MAINTENANCE_RATE

    def liquidation(self) -> str:
        """An isolated-margin estimate (entry moved by 1/leverage less the maintenance rate);
        empty when flat, as Bybit sends it."""
        if not self.lots:
            return ""
        move = 1 / LEVERAGE - MAINTENANCE_RATE
        price = self.entry() * (1 - move if self.lots > 0 else 1 + move)
        return format(price.quantize(Decimal(self.tick.text(1))), "f")

    def row(self, symbol: str, mark: Decimal, seq: int, *, ws: bool = False) -> dict[str, Any]:
        """The position as ``/v5/position/list`` lists it, or (``ws``) as the ``position``
        topic pushes it: the topic names the entry price ``entryPrice``, the list
        ``avgPrice``."""
        entry = self.entry()
        avg = money_text(entry) if self.lots else "0"
        value = money_text(self.value())
        im, mm = money_text(self.initial_margin()), money_text(self.maintenance_margin())
        row = {
            "symbol": symbol, "positionIdx": 0, "tradeMode": 0,
            "riskId": 1, "riskLimitValue": "2000000",
            "side": "" if self.lots == 0 else ("Buy" if self.lots > 0 else "Sell"),
            "size": self.lot.text(abs(self.lots)),
            "leverage": str(LEVERAGE), "positionValue": value,
            "positionBalance": "0", "markPrice": format(mark, "f"),
            "positionIM": im, "positionMM": mm,
            "takeProfit": "0", "stopLoss": "0", "trailingStop": "0",
            "unrealisedPnl": money_text(self.unrealised(mark)),
            "curRealisedPnl": money_text(self.cur_realised),
            "cumRealisedPnl": money_text(self.cum_realised),
            "liqPrice": self.liquidation(), "bustPrice": "", "tpslMode": "Full",
            "positionStatus": "Normal", "adlRankIndicator": 2 if self.lots else 0,
            "autoAddMargin": 0, "isReduceOnly": False, "leverageSysUpdatedTime": "",
            "mmrSysUpdatedTime": "", "seq": seq,
            "createdTime": str(self.created_ms), "updatedTime": str(self.updated_ms),
        }  # fmt: skip
        if not ws:
            return row | {"avgPrice": avg}
        return row | {
            "category": "linear", "entryPrice": avg, "sessionAvgPrice": "",
            "positionIMByMp": im, "positionMMByMp": mm,
        }  # fmt: skip


@dataclass(slots=True)
class Wallet:
    """The unified account's USDT: the deposit plus every realised PnL and fee."""

    deposit: Decimal = Decimal(10_000)

    def row(
        self,
        positions: list[tuple[LocalPosition, Decimal]],
        order_margin: Decimal,
        account_type: str = "UNIFIED",
        *,
        ws: bool = False,
    ) -> dict[str, Any]:
        """The ``/v5/account/wallet-balance`` row, or (``ws``) the ``wallet`` topic's, from
        the positions (each with its mark price) and the initial margin of the open orders."""
        balance = self.deposit + sum((p.cum_realised for p, _ in positions), Decimal(0))
        upl = sum((p.unrealised(mark) for p, mark in positions), Decimal(0))
        position_im = sum((p.initial_margin() for p, _ in positions), Decimal(0))
        mm = sum((p.maintenance_margin() for p, _ in positions), Decimal(0))
        equity = balance + upl
        initial = position_im + order_margin
        available = max(equity - initial, Decimal(0))
        rate_im = money_text(initial / equity if equity > 0 else Decimal(0))
        rate_mm = money_text(mm / equity if equity > 0 else Decimal(0))
        realised = sum((p.cum_realised for p, _ in positions), Decimal(0))
        usdt = {
            "coin": "USDT", "equity": money_text(equity), "usdValue": money_text(equity),
            "walletBalance": money_text(balance), "locked": "0",
            "borrowAmount": "0", "availableToBorrow": "",
            "availableToWithdraw": "", "accruedInterest": "0", "bonus": "0",
            "totalOrderIM": money_text(order_margin), "totalPositionIM": money_text(position_im),
            "totalPositionMM": money_text(mm), "unrealisedPnl": money_text(upl),
            "cumRealisedPnl": money_text(realised), "collateralSwitch": True,
            "marginCollateral": True, "spotBorrow": "0",
        }  # fmt: skip
        row = {
            "accountIMRate": rate_im, "accountMMRate": rate_mm,
            "accountLTV": "0", "totalEquity": money_text(equity),
            "totalWalletBalance": money_text(balance), "totalMarginBalance": money_text(equity),
            "totalAvailableBalance": money_text(available),
            "totalInitialMargin": money_text(initial), "totalMaintenanceMargin": money_text(mm),
            "coin": [usdt],
        }  # fmt: skip
        row["accountType"] = account_type  # the topic has it too (Bybit's docs; ccxt reads it)
        if ws:  # the topic spells the PnL field differently
            return row | {"totalPerpUpl": money_text(upl)}
        return row | {"totalPerpUPL": money_text(upl)}
