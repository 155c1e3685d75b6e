"""The local venue's list endpoints, paged as Bybit pages them.

``/v5/order/realtime`` (open orders; one order by ``orderLinkId``/``orderId``, closed ones
too unless ``Faults.realtime_hides_closed``), ``/v5/order/history`` (closed orders),
``/v5/execution/list`` and ``/v5/position/list``. Each answers at most ``limit`` rows (Bybit's
default when absent, 10001 above the path's maximum, ``rest.PAGE_LIMITS``) and a
``nextPageCursor`` while more rows remain, so a client that ignores paging sees only the
first page, as on Bybit. Rows are newest first; the cursor names the last row's key, so rows
added while a client pages (a new fill) never shift the pages it has yet to read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asnd.venues.bybit import codes
from asnd.venues.bybit.local.exchange import Exchange, ExchangeError, LocalOrder, Message
from asnd.venues.bybit.local.faults import Faults
from asnd.venues.bybit.rest import PAGE_LIMITS

__all__ = ["LIST_PATHS", "answer_list"]

#: Bybit's ``limit`` when a request sends none.
_DEFAULT_LIMIT = {
    "/v5/order/realtime": 20,
    "/v5/order/history": 20,
    "/v5/execution/list": 50,
    "/v5/position/list": 20,
}
LIST_PATHS = frozenset(PAGE_LIMITS)
_CURSOR = "asn-local-key:"
_EXEC_FILTERS = ("symbol", "orderLinkId", "orderId")


def _limit(path: str, params: dict[str, Any]) -> int:
    text = params.get("limit")
    if text is None or text == "":
        return _DEFAULT_LIMIT[path]
    top = PAGE_LIMITS[path]
    if not str(text).isdecimal() or not 1 <= int(text) <= top:
        raise ExchangeError(codes.PARAMS_ERROR, f"limit invalid: {text!r} (1..{top})")
    return int(text)


def _after(params: dict[str, Any]) -> int | None:
    cursor = str(params.get("cursor") or "")
    if not cursor:
        return None
    key = cursor.removeprefix(_CURSOR)
    if not cursor.startswith(_CURSOR) or not key.isdecimal():
        raise ExchangeError(codes.PARAMS_ERROR, f"cursor invalid: {cursor!r}")
    return int(key)


def _page(
    path: str, params: dict[str, Any], rows: list[Message], key: Callable[[Message], int]
) -> dict[str, Any]:
    """One page of ``rows`` (any order in; newest = highest key first out)."""
    limit = _limit(path, params)
    after = _after(params)
    ordered = sorted(rows, key=key, reverse=True)
    if after is not None:
        ordered = [r for r in ordered if key(r) < after]
    page = ordered[:limit]
    more = len(ordered) > limit
    return {
        "category": "linear",
        "list": page,
        "nextPageCursor": f"{_CURSOR}{key(page[-1])}" if more else "",
    }


def _matches(order: LocalOrder, params: dict[str, Any]) -> bool:
    """The ``symbol``/``orderLinkId``/``orderId``/``orderStatus`` filters (ccxt asks history
    for ``orderStatus=Filled`` or ``Cancelled``)."""
    return (
        (not params.get("symbol") or order.symbol == params["symbol"])
        and (not params.get("orderLinkId") or order.link_id == params["orderLinkId"])
        and (not params.get("orderId") or order.order_id == params["orderId"])
        and (not params.get("orderStatus") or order.status == params["orderStatus"])
    )


def _order_key(row: Message) -> int:
    return int(row["orderId"])


def _realtime(ex: Exchange, faults: Faults, params: dict[str, Any]) -> list[Message]:
    one = bool(params.get("orderLinkId") or params.get("orderId"))
    rows = []
    for order in ex.by_order_id.values():  # with or without an orderLinkId
        closed = order.leaves_lots == 0
        if not _matches(order, params) or (closed and (not one or faults.realtime_hides_closed)):
            continue
        rows.append(ex.order_row(order))
    return rows


def _history(ex: Exchange, params: dict[str, Any]) -> list[Message]:
    return [
        ex.order_row(o)
        for o in ex.by_order_id.values()
        if o.leaves_lots == 0 and _matches(o, params)
    ]


def _executions(ex: Exchange, params: dict[str, Any]) -> list[Message]:
    start = int(params.get("startTime") or 0)
    end = int(params.get("endTime") or 0)
    return [
        r
        for r in ex.executions
        if int(r["execTime"]) >= start
        and (not end or int(r["execTime"]) <= end)
        and all(not params.get(f) or r[f] == params[f] for f in _EXEC_FILTERS)
    ]


def answer_list(ex: Exchange, faults: Faults, path: str, params: dict[str, Any]) -> Any:
    """The ``result`` of one GET on a list path."""
    if path == "/v5/order/realtime":
        return _page(path, params, _realtime(ex, faults, params), _order_key)
    if path == "/v5/order/history":
        return _page(path, params, _history(ex, params), _order_key)
    if path == "/v5/execution/list":
        return _page(path, params, _executions(ex, params), lambda r: int(r["seq"]))
    symbols = [params["symbol"]] if params.get("symbol") else list(ex.markets)
    if params.get("category", "linear") != "linear":
        symbols = []  # only linear positions here (ccxt also asks for inverse ones)
    rows = [row for s in symbols for row in ex.position_rows(s)]
    index = {s: i for i, s in enumerate(ex.markets)}
    # One key per row, hedge mode's two rows of a symbol included (positionIdx 0..2).
    return _page(
        path, params, rows, lambda r: (len(index) - index[r["symbol"]]) * 4 - r["positionIdx"]
    )
