"""Typed shapes of Bybit v5 WebSocket frames and REST bodies (msgspec, decoded in one pass).

Only the fields ASN reads are declared; msgspec ignores the rest, so new venue fields do not
break parsing. Decimal strings stay strings here: conversion to ticks/lots is ``parse``'s job.
Integer fields are ``JournalInt``: msgspec refuses one the journal could not hold.
"""

from __future__ import annotations

import msgspec

# One definition of the public message shapes: the archive reader in journal parses them too.
from journal.bybit_archive import BookData, TradeRow
from journal.codec import JournalInt

__all__ = [
    "BookData",
    "Envelope",
    "ExecutionRow",
    "InstrumentRow",
    "OrderRow",
    "PositionRow",
    "RestEnvelope",
    "TradeRow",
]


class Envelope(msgspec.Struct):
    """Any WebSocket frame: a topic push, or an op answer (subscribe, pong, auth)."""

    topic: str = ""
    type: str = ""
    ts: JournalInt = 0
    cts: JournalInt = 0
    data: msgspec.Raw = msgspec.Raw(b"null")
    op: str = ""
    success: bool | None = None
    ret_msg: str = ""
    retMsg: str = ""  # noqa: N815 -- the venue's field name
    retCode: JournalInt = 0  # noqa: N815
    creationTime: JournalInt = 0  # noqa: N815


class ExecutionRow(msgspec.Struct, rename="camel"):
    symbol: str
    exec_id: str
    order_id: str
    order_link_id: str
    side: str
    exec_price: str
    exec_qty: str
    exec_fee: str
    exec_time: str
    is_maker: bool
    leaves_qty: str = "0"
    exec_type: str = "Trade"
    category: str = "linear"


class OrderRow(msgspec.Struct, rename="camel"):
    symbol: str
    order_id: str
    order_link_id: str
    side: str
    order_status: str
    price: str = "0"
    qty: str = "0"
    leaves_qty: str = "0"
    cum_exec_qty: str = "0"
    reject_reason: str = ""
    cancel_type: str = ""
    updated_time: str = "0"


class PositionRow(msgspec.Struct, rename="camel"):
    symbol: str
    side: str
    size: str
    avg_price: str = "0"
    entry_price: str = "0"
    seq: JournalInt = 0
    #: 0 in one-way mode; 1 (buy side) and 2 (sell side) in hedge mode (``account``)
    position_idx: JournalInt = 0


class PriceFilter(msgspec.Struct, rename="camel"):
    tick_size: str


class LotSizeFilter(msgspec.Struct, rename="camel"):
    min_order_qty: str
    qty_step: str = ""
    base_precision: str = ""
    min_notional_value: str = "0"
    min_order_amt: str = "0"


class InstrumentRow(msgspec.Struct, rename="camel"):
    symbol: str
    price_filter: PriceFilter
    lot_size_filter: LotSizeFilter
    status: str = "Trading"
    contract_type: str = ""  # "LinearPerpetual", "LinearFutures", ... (``account``)
    settle_coin: str = ""


class RestEnvelope(msgspec.Struct):
    retCode: JournalInt  # noqa: N815 -- the venue's field name
    retMsg: str  # noqa: N815
    result: msgspec.Raw = msgspec.Raw(b"null")
    time: JournalInt = 0
