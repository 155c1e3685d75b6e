"""A shadow: one strategy trading virtually against the live market, for the pit crew.

A ``Shadow`` is a one-slot backtest (``asnd.core.backtest.Backtest``) running alongside the
live core: the same fold (features, the slot's trading policy, ledger, watchtower) with the
slot's own config (symbol, sizing, the $200 capital), and one ``L2Replay`` for virtual fills
(the same queue and latency model as backtests). It is fed the market events the live core
journals, in journal order, so its feature rows are the live champion's rows.

A shadow starts mid-stream: ``start`` seeds it with the instrument and a ``BookSnapshot``
built from the live book (a venue sends its snapshot only at subscription; the deltas that
follow chain on from the live book's ``update_id``).

Pure and deterministic: no clock, no I/O; the same events give the same equity. Its in-memory
journal is dropped after each event (nothing reads it; it would grow without bound).
"""

from __future__ import annotations

from dataclasses import replace

from asnd.core.backtest import Backtest
from asnd.core.kernel.views import BookView
from asnd.core.l2replay import LatencyModel
from asnd.core.portfolio import CoreConfig
from asnd.core.slot import SlotConfig
from journal.events import (
    BookDelta,
    BookSnapshot,
    BookStale,
    Event,
    InstrumentInfo,
    StrategyLoaded,
    Trade,
)

__all__ = ["MARKET_KINDS", "Shadow", "book_snapshot"]

#: The events a shadow is fed (everything else is the live slots' business).
MARKET_KINDS = (BookSnapshot, BookDelta, Trade, BookStale)


def book_snapshot(symbol: str, book: BookView, ts_local_ns: int) -> BookSnapshot:
    """The live book's current levels as a snapshot (seq 0: never journaled)."""
    bid_n, ask_n = book.depth
    bids, asks = book.bids(bid_n), book.asks(ask_n)
    return BookSnapshot(
        0, ts_local_ns, symbol, book.update_id, 0, 0, 0,
        [p for p, _ in bids], [q for _, q in bids], [p for p, _ in asks], [q for _, q in asks],
    )  # fmt: skip


class Shadow:
    """``document`` (already validated) trading ``slot`` virtually."""

    __slots__ = ("backtest", "strategy_id", "symbol")

    def __init__(
        self,
        slot: SlotConfig,
        base: CoreConfig,
        strategy_id: str,
        document: str,
        *,
        latency: LatencyModel | None = None,
    ) -> None:
        self.symbol = slot.symbol
        self.strategy_id = strategy_id
        config = replace(base, slots=(slot,))
        self.backtest = Backtest(config, latency=latency)
        self._feed(StrategyLoaded(0, 0, 0, strategy_id, "", "shadow", document))

    def start(self, info: InstrumentInfo | None, book: BookView | None, ts_local_ns: int) -> None:
        """Seed with the live instrument and book, so the shadow trades from now on."""
        if info is not None:
            self._feed(info)
        if book is not None and not book.stale and book.update_id:
            self._feed(book_snapshot(self.symbol, book, ts_local_ns))

    def on_market(self, event: Event) -> None:
        """One market event of the shadow's symbol (see ``MARKET_KINDS``)."""
        self._feed(event)

    @property
    def equity_e8(self) -> int | None:
        """Virtual equity at the conservative mark (None before it can be marked)."""
        state = self.backtest.state
        return state.equity_e8(state.slots[0])

    @property
    def position_lots(self) -> int:
        ledger = self.backtest.state.slots[0].ledger
        return 0 if ledger is None else ledger.position_lots

    def _feed(self, event: Event) -> None:
        self.backtest.feed(event)
        self.backtest.journal.clear()
