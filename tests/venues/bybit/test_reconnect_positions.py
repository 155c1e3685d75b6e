"""After a private-stream reconnect the positions are journaled only when no fill landed
while they were read (issue 13: a position newer than the journaled fills looks like a
mismatch, and a mismatch halts trading)."""

from __future__ import annotations

import trio

from asnd.venues.bybit.credentials import Credentials
from asnd.venues.bybit.parse import SymbolScales
from asnd.venues.bybit.private_ws import PrivateFeed
from asnd.venues.bybit.wire import ExecutionRow, OrderRow, PositionRow
from journal.events import Event, Fill, PositionReconciled

from .bybit_helpers import INSTRUMENTS, KEY, SECRET


class MovingRest:
    """The REST answers of a venue where an order fills right after the positions are read
    (the first time): positions, then executions, are what a real account would show."""

    def __init__(self) -> None:
        self.position_reads = 0
        self.rows: list[ExecutionRow] = []

    def now_ms(self) -> int:
        return 1_000

    async def open_orders(self, symbol: str) -> list[OrderRow]:
        return []

    async def positions(self, symbol: str) -> list[PositionRow]:
        if symbol != "BTCUSDT":
            return []
        self.position_reads += 1
        if self.position_reads == 1:  # the fill lands now, after this read
            fields = ("x-late", "o1", "asn-0-1", "Buy", "50000.5", "0.002", "0.01", "1500")
            self.rows.append(ExecutionRow("BTCUSDT", *fields, is_maker=False))
            return [PositionRow("BTCUSDT", "", "0")]  # read just before: flat
        return [PositionRow("BTCUSDT", "Buy", "0.002", "50000.5")]

    async def executions(self, symbol: str, since_ms: int = 0) -> list[ExecutionRow]:
        return [r for r in self.rows if r.symbol == symbol]


async def test_a_fill_landing_while_positions_are_read_is_journaled_first() -> None:
    rest = MovingRest()
    scales = {i.symbol: SymbolScales.of(i) for i in INSTRUMENTS}
    feed = PrivateFeed("ws://unused", Credentials(KEY, SECRET), rest, scales)  # type: ignore[arg-type]
    send, receive = trio.open_memory_channel[Event](100)
    feed._emit = send
    await feed._catch_up(0)
    await feed._reconcile()
    events = []
    while True:
        try:
            events.append(receive.receive_nowait())
        except trio.WouldBlock:
            break
    assert [type(e) for e in events] == [Fill, PositionReconciled]
    assert rest.position_reads == 2
    fill, position = events
    assert isinstance(fill, Fill)
    assert isinstance(position, PositionReconciled)
    assert (fill.exec_id, position.position_lots) == ("x-late", 2)
