"""The local venue's admin commands: what a test outside the venue's process reads and does.

``python -m asnd.venues.bybit.local --admin`` reads one JSON command per line on stdin and
answers one JSON line on stdout (after the first line, which gives the URLs). Commands:

- ``{"op": "state"}``: our account as the venue holds it: every order (link id, status, qty,
  filled), every execution, each symbol's position and realised PnL (net of fees), and the
  ``orderLinkId`` of every create request that reached the exchange (a resend of the same
  link id shows twice there, and is refused as a duplicate);
- ``{"op": "private_down", "on": true}``: a private-stream outage: open private connections
  are cut and new ones refused until ``"on": false``;
- ``{"op": "fill_resting", "fills": N}``: N fills of one lot each on our resting limit
  orders, made by crowd takers (the crowd levels at or better than the order's price are
  removed first, so the order is at the front of the queue);
- ``{"op": "crowd", "moving": false}``: stop (or restart) the moving crowd.

Loopback only, by construction: the channel is the venue process's own stdin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asnd.venues.bybit.local.exchange import Exchange, LocalOrder
from asnd.venues.bybit.local.server import LocalBybit
from journal.events import BUY, SELL

__all__ = ["Admin"]


def _order(o: LocalOrder) -> dict[str, Any]:
    return {
        "link_id": o.link_id, "order_id": o.order_id, "symbol": o.symbol,
        "side": o.side, "status": o.status, "qty_lots": o.qty_lots,
        "filled_lots": o.filled_lots, "leaves_lots": o.leaves_lots,
    }  # fmt: skip


def _execution(e: dict[str, Any]) -> dict[str, Any]:
    return {
        "exec_id": e["execId"], "link_id": e["orderLinkId"], "symbol": e["symbol"],
        "side": e["side"], "qty": e["execQty"], "price": e["execPrice"], "fee": e["execFee"],
    }  # fmt: skip


def account_state(ex: Exchange) -> dict[str, Any]:
    """Our account (``by_order_id`` holds only its orders; the crowd's live in the engines)."""
    orders = [_order(o) for o in ex.by_order_id.values()]
    executions = [_execution(e) for e in ex.executions]
    positions = {
        symbol: {
            "lots": m.position.lots,
            "cost_ticks_lots": str(m.position.cost_ticks_lots),
            "realised": format(m.position.cum_realised, "f"),
        }
        for symbol, m in ex.markets.items()
    }
    return {
        "orders": orders,
        "executions": executions,
        "positions": positions,
        "create_requests": list(ex.create_requests),
    }


def fill_resting(ex: Exchange, fills: int) -> int:
    """Up to ``fills`` one-lot fills on our resting limit orders; returns how many were made."""
    made = 0
    while made < fills:
        resting = [
            o for o in ex.by_order_id.values() if o.leaves_lots > 0 and o.order_type == "Limit"
        ]
        if not resting:
            break
        progress = False
        for order in resting:
            if made >= fills:
                break
            m = ex.market(order.symbol)
            better = [
                (side, price)
                for side, price in m.crowd
                if side == order.side
                and (price >= order.price_ticks if side == BUY else price <= order.price_ticks)
            ]
            for side, price in sorted(better):
                ex.set_level(order.symbol, side, price, 0)
            before = len(ex.executions)
            taker = SELL if order.side == BUY else BUY
            ex.crowd_trade(order.symbol, taker, order.price_ticks, 1)
            done = sum(1 for e in ex.executions[before:] if e["orderLinkId"] == order.link_id)
            made += done
            progress = progress or done > 0
        if not progress:
            break
    return made


@dataclass
class Admin:
    venue: LocalBybit
    moving: bool = True

    def handle(self, command: dict[str, Any]) -> dict[str, Any]:
        ex = self.venue.exchange
        op = command.get("op")
        if op == "state":
            return {"ok": True, **account_state(ex)}
        if op == "private_down":
            on = bool(command.get("on"))
            self.venue.faults.private_down = on
            cut = self.venue.hub.drop("private") if on else 0
            return {"ok": True, "cut": cut}
        if op == "fill_resting":
            return {"ok": True, "fills": fill_resting(ex, int(command.get("fills", 0)))}
        if op == "crowd":
            self.moving = bool(command.get("moving"))
            return {"ok": True}
        return {"ok": False, "error": f"unknown op {op!r}"}
