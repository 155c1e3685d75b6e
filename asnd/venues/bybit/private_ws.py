"""Private account feed: ``order``, ``execution`` and ``position`` topics.

Auth is ``{"op": "auth", "args": [api_key, expires_ms, HMAC("GET/realtime" + expires)]}`` with
``expires`` taken from the venue's clock (the REST client's measured offset). A refused auth
is ``NeedsHumanError``: the feed stops and trading halts. Executions become ``Fill`` events
(deduplicated by ``execId`` in ``ExecIds``, shared with the venue's lookups). After every
reconnect, what the stream may have missed is fetched over REST and journaled before live
updates: every page of the executions since the last frame received (as ``Fill``s, oldest
first, never twice), each position (``PositionReconciled``), and every order
the stream last showed open (``OrderReconciled``: still open, filled or cancelled meanwhile).
The first connection catches up the executions since ``catch_up_from_ms`` (the daemon's
start-up check of missed fills): what filled before the stream was subscribed.
"""

from __future__ import annotations

import logging
import random
import time
from collections import deque
from collections.abc import Callable

import msgspec
import trio
from trio_websocket import WebSocketConnection

from asnd.venues.base import NeedsHumanError
from asnd.venues.bybit.connection import FeedTiming, run_connection_loop
from asnd.venues.bybit.credentials import Credentials
from asnd.venues.bybit.parse import (
    MalformedFrameError,
    OpAnswer,
    SymbolScales,
    fill_from_row,
    parse_private,
    position_from_row,
    reconciled_from_row,
)
from asnd.venues.bybit.rest import BybitRest
from journal.events import Event, Fill, OrderAccepted, OrderCancelled, OrderRejected

__all__ = ["ExecIds", "PrivateFeed", "fills_since"]

log = logging.getLogger(__name__)
_ENCODE = msgspec.json.Encoder()
TOPICS = ("order", "execution", "position")
_SEEN_EXECS = 10_000  # how many execIds to remember for deduplication
_CLOCK_MARGIN_MS = 1_000  # our estimate of the venue clock may be off by this much


class ExecIds:
    """The execIds already journaled, the last ``size`` of them: one memory shared by the
    stream, its catch-up and the venue's order lookups, so a fill is journaled once."""

    def __init__(self, size: int = _SEEN_EXECS) -> None:
        self.size = size
        self._seen: set[str] = set()
        self._order: deque[str] = deque()

    def __contains__(self, exec_id: object) -> bool:
        return exec_id in self._seen

    def add(self, exec_id: str) -> bool:
        """True if ``exec_id`` is new (and remember it)."""
        if exec_id in self._seen:
            return False
        self._seen.add(exec_id)
        self._order.append(exec_id)
        if len(self._order) > self.size:
            self._seen.discard(self._order.popleft())
        return True


async def fills_since(
    rest: BybitRest,
    scales: dict[str, SymbolScales],
    seen: ExecIds,
    since_ms: int,
    wall_ns: Callable[[], int],
) -> list[Fill]:
    """Our executions since ``since_ms`` (venue time) not in ``seen`` (and now remembered):
    every page of them (an outage can hold far more than one page), oldest first per symbol.
    The stream's catch-up after a reconnect, and the daemon's at start-up."""
    fills: list[Fill] = []
    for symbol in scales:
        for row in await rest.executions(symbol, since_ms):
            if row.exec_type != "Trade":
                continue
            fill = fill_from_row(row, scales, wall_ns())
            if seen.add(fill.exec_id):
                fills.append(fill)
    return fills


class PrivateFeed:
    stream = "private"

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        rest: BybitRest,
        scales: dict[str, SymbolScales],
        *,
        timing: FeedTiming | None = None,
        rng: random.Random | None = None,
        venue: str = "bybit",
        auth_valid_ms: int = 10_000,
        wall_ns: Callable[[], int] = time.time_ns,
        seen: ExecIds | None = None,
        catch_up_from_ms: int | None = None,
    ) -> None:
        self.url = url
        self._credentials = credentials
        self.rest = rest
        self.scales = scales
        self.timing = timing or FeedTiming()
        self.rng = rng or random.Random(1)
        self.venue = venue
        self.auth_valid_ms = auth_valid_ms
        self.wall_ns = wall_ns
        self.malformed = 0
        self.caught_up_fills = 0
        self.seen = seen if seen is not None else ExecIds()
        self._alive_ms = 0  # venue time of the last frame received: nothing missed before it
        self._open: set[str] = set()  # link ids of the orders the stream last showed open
        self._was_lost = False
        self._caught_up_from_ms = 0
        #: the first connection journals our executions since then (venue time): the fills
        #: between the daemon's start-up check and this subscription
        self._first_catch_up_ms = catch_up_from_ms
        self._emit: trio.MemorySendChannel[Event] | None = None

    async def _emit_fill(self, fill: Fill) -> bool:
        """Journal ``fill`` unless its execId was journaled already; True if it was new."""
        assert self._emit is not None
        if self.seen.add(fill.exec_id):
            await self._emit.send(fill)
            return True
        return False

    async def _on_open(self, ws: WebSocketConnection, attempt: int) -> None:
        expires = self.rest.now_ms() + self.auth_valid_ms
        signature = self._credentials.sign_ws_auth(expires)
        args = [self._credentials.api_key, expires, signature]
        await ws.send_message(_ENCODE.encode({"op": "auth", "args": args}).decode())
        answer = parse_private(await ws.get_message(), self.scales, self.wall_ns())
        if not isinstance(answer, OpAnswer) or answer.op != "auth":
            raise NeedsHumanError("bybit private feed: no auth answer from the venue")
        if not answer.success:
            raise NeedsHumanError(f"bybit private feed: auth refused: {answer.message}")
        await ws.send_message(_ENCODE.encode({"op": "subscribe", "args": list(TOPICS)}).decode())
        if self._was_lost:
            await self._catch_up(self._alive_ms - _CLOCK_MARGIN_MS)
            await self._reconcile()
            self._was_lost = False
        elif self._first_catch_up_ms is not None:
            await self._catch_up(self._first_catch_up_ms - _CLOCK_MARGIN_MS)
            self._first_catch_up_ms = None
        self._alive_ms = self.rest.now_ms()

    async def _catch_up(self, since_ms: int) -> None:
        """Journal the executions since ``since_ms`` that the stream did not deliver."""
        assert self._emit is not None
        self._caught_up_from_ms = since_ms
        for fill in await fills_since(self.rest, self.scales, self.seen, since_ms, self.wall_ns):
            await self._emit.send(fill)
            self.caught_up_fills += 1

    async def _reconcile(self) -> None:
        """Journal the venue's view of our orders and positions after a gap in the stream."""
        assert self._emit is not None
        still_open: set[str] = set()
        for symbol in self.scales:
            for row in await self.rest.open_orders(symbol):
                still_open.add(row.order_link_id)
                await self._emit.send(
                    reconciled_from_row(row.order_link_id, row, self.scales, self.wall_ns())
                )
        await self._positions()
        for link_id in sorted(self._open - still_open):  # finished while we were away: how?
            found = None
            for symbol in self.scales:
                found = await self.rest.order_by_link_id(symbol, link_id)
                if found is not None:
                    break
            await self._emit.send(reconciled_from_row(link_id, found, self.scales, self.wall_ns()))
        self._open = still_open

    async def _positions(self) -> None:
        """Journal each position, if no fill landed while they were read: fills, positions,
        fills again; a new fill in between is journaled and the positions read again (a
        position newer than the fills journaled would look like a mismatch and halt
        trading). Still moving after a few tries: no positions this time (the stream's
        position topic goes on reporting them)."""
        assert self._emit is not None
        for _attempt in range(3):
            rows = [row for symbol in self.scales for row in await self.rest.positions(symbol)]
            landed = await fills_since(
                self.rest, self.scales, self.seen, self._caught_up_from_ms, self.wall_ns
            )
            for fill in landed:
                await self._emit.send(fill)
                self.caught_up_fills += 1
            if not landed:
                for row in rows:
                    await self._emit.send(position_from_row(row, self.scales, self.wall_ns()))
                return
        log.warning("bybit private feed: fills kept landing; positions not reconciled now")

    def _track(self, event: Event) -> None:
        if isinstance(event, OrderAccepted):
            self._open.add(event.link_id)
        elif isinstance(event, OrderCancelled | OrderRejected) or (
            isinstance(event, Fill) and event.leaves_lots == 0
        ):
            self._open.discard(event.link_id)

    async def _on_lost(self, reason: str) -> None:
        self._was_lost = True

    async def _on_frame(self, ws: WebSocketConnection, frame: str | bytes) -> None:
        assert self._emit is not None
        self._alive_ms = self.rest.now_ms()
        try:
            parsed = parse_private(frame, self.scales, self.wall_ns())
        except MalformedFrameError as exc:
            self.malformed += 1
            # The message is the diagnosis; a traceback of the parser would be noise.
            log.error("bybit private feed: skipping malformed frame: %s", exc)  # noqa: TRY400
            return
        if isinstance(parsed, OpAnswer):
            if not parsed.success:
                log.error("bybit private feed: %s refused: %s", parsed.op, parsed.message)
            return
        for event in parsed:
            self._track(event)
            if isinstance(event, Fill):
                await self._emit_fill(event)
            else:
                await self._emit.send(event)

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
