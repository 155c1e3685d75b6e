"""Public market-data feed: ``orderbook.{depth}.{symbol}`` and ``publicTrade.{symbol}``.

Every frame becomes journal events stamped with the local receive time (ns) and the venue's
``ts``/``cts``/``u``/``seq``/``T`` untouched. The feed folds the book events into a market
kernel of its own (``MarketKernel``, read through ``BookView``s) only to judge the stream: a
gap, ``u = 1`` or a crossed book journals ``BookStale`` and resubscribes that book (Bybit
answers a subscribe with a fresh snapshot); a reconnect marks every book stale; the next
snapshot *replaces* the book and journals ``BookSynced``. A book still stale ``resync_after_s``
after its last subscribe is resubscribed again (checked on every pong), so a lost snapshot
cannot leave it stale forever. Malformed frames are logged with what was wrong and skipped; the
feed keeps running.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence

import msgspec
import trio
from trio_websocket import WebSocketConnection

from asnd.core.kernel import MarketKernel, Verdict
from asnd.core.kernel.layout import O_VERDICT
from asnd.core.kernel.views import BookView
from asnd.venues.bybit.connection import FeedTiming, run_connection_loop
from asnd.venues.bybit.parse import MalformedFrameError, OpAnswer, SymbolScales, parse_public
from journal.codec import encode
from journal.events import BookDelta, BookSnapshot, BookStale, BookSynced, Event

__all__ = ["PublicFeed"]

log = logging.getLogger(__name__)
_ENCODE = msgspec.json.Encoder()
_MAX_ARGS = 10  # Bybit accepts at most 10 topics per subscribe request


class PublicFeed:
    """One public connection for all configured symbols. ``run`` streams events until cancelled."""

    stream = "public"

    def __init__(
        self,
        url: str,
        scales: dict[str, SymbolScales],
        *,
        depth: int = 50,
        timing: FeedTiming | None = None,
        rng: random.Random | None = None,
        venue: str = "bybit",
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.url = url
        self.scales = scales
        self.depth = depth
        self.timing = timing or FeedTiming()
        self.rng = rng or random.Random(0)
        self.venue = venue
        self.wall_ns = wall_ns
        self._market = MarketKernel(row_capacity=1)  # one event per call
        self.books = {symbol: BookView(self._market, symbol) for symbol in scales}
        self.malformed = 0
        self.resubscribes = 0
        self._subscribed_at: dict[str, float] = {}  # trio time of each book's last subscribe
        self._emit: trio.MemorySendChannel[Event] | None = None

    def topics(self, symbols: Sequence[str]) -> list[str]:
        return [t for s in symbols for t in (f"orderbook.{self.depth}.{s}", f"publicTrade.{s}")]

    async def _send_op(self, ws: WebSocketConnection, op: str, args: list[str]) -> None:
        for i in range(0, len(args), _MAX_ARGS):
            await ws.send_message(
                _ENCODE.encode({"op": op, "args": args[i : i + _MAX_ARGS]}).decode()
            )

    async def _on_open(self, ws: WebSocketConnection, attempt: int) -> None:
        await self._send_op(ws, "subscribe", self.topics(list(self.scales)))
        now = trio.current_time()
        self._subscribed_at = dict.fromkeys(self.scales, now)

    async def _resubscribe(self, ws: WebSocketConnection, symbol: str) -> None:
        """Ask for a fresh snapshot of one book (Bybit answers a subscribe with one)."""
        self.resubscribes += 1
        self._subscribed_at[symbol] = trio.current_time()
        topic = [f"orderbook.{self.depth}.{symbol}"]
        await self._send_op(ws, "unsubscribe", topic)
        await self._send_op(ws, "subscribe", topic)

    async def _resync_stale_books(self, ws: WebSocketConnection) -> None:
        now = trio.current_time()
        for symbol, book in self.books.items():
            if (
                book.stale
                and now - self._subscribed_at.get(symbol, now) >= self.timing.resync_after_s
            ):
                log.warning(
                    "bybit %s book still stale (%s): resubscribing", symbol, book.stale_reason
                )
                await self._resubscribe(ws, symbol)

    async def _on_lost(self, reason: str) -> None:
        assert self._emit is not None
        for book in self.books.values():
            if not book.stale:
                self._market.mark_stale(book.symbol, f"feed lost: {reason}")
                await self._emit.send(BookStale(0, self.wall_ns(), book.symbol, book.stale_reason))

    async def _on_frame(self, ws: WebSocketConnection, frame: str | bytes) -> None:
        assert self._emit is not None
        ts_local_ns = self.wall_ns()
        try:
            parsed = parse_public(frame, self.scales, ts_local_ns)
        except MalformedFrameError as exc:
            self.malformed += 1
            # The message is the diagnosis; a traceback of the parser would be noise.
            log.error("bybit public feed: skipping malformed frame: %s", exc)  # noqa: TRY400
            return
        if isinstance(parsed, OpAnswer):
            if not parsed.success and parsed.op == "subscribe":
                log.error("bybit public feed: subscription refused: %s", parsed.message)
            await self._resync_stale_books(ws)
            return
        for event in parsed:
            if isinstance(event, BookSnapshot | BookDelta):
                await self._judge(ws, event)
            else:
                await self._emit.send(event)

    async def _judge(self, ws: WebSocketConnection, event: BookSnapshot | BookDelta) -> None:
        """Apply to our book, journal the event, then the verdict (stale / synced) it caused."""
        assert self._emit is not None
        book = self.books[event.symbol]
        was_stale = book.stale
        market = self._market
        market.fold_one(encode(event))  # a book event always writes its row (row 0)
        verdict = int(market.rows.ints[0, O_VERDICT])
        await self._emit.send(event)
        if verdict == Verdict.SNAPSHOT and was_stale:
            await self._emit.send(BookSynced(0, self.wall_ns(), book.symbol, book.update_id))
        elif verdict in (Verdict.GAP, Verdict.CROSSED):
            await self._emit.send(BookStale(0, self.wall_ns(), book.symbol, book.stale_reason))
            log.warning("bybit %s book stale (%s): resubscribing", book.symbol, book.stale_reason)
            await self._resubscribe(ws, book.symbol)

    async def run(
        self,
        emit: trio.MemorySendChannel[Event],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        self._emit = emit
        await run_connection_loop(
            url=self.url,
            venue=self.venue,
            stream=self.stream,
            timing=self.timing,
            rng=self.rng,
            emit=emit,
            on_open=self._on_open,
            on_frame=self._on_frame,
            on_lost=self._on_lost,
            wall_ns=self.wall_ns,
            task_status=task_status,
        )
