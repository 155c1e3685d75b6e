"""``BybitVenue``: the ``Venue`` protocol (``asnd.venues.base``) over Bybit v5.

``async with venue:`` opens the REST client and measures the server-time offset; leaving it
(normally, on an error or on cancellation) closes the client. Every call below is made inside
it. ``run`` loads instruments, starts the public feed, the private feed (with credentials),
the background clock refresh and the resolver of unresolved orders, then reports ``started``.
``place`` is idempotent on ``intent.link_id``:

- a market intent with a protection price (``price_ticks`` > 0, the slot's worst acceptable
  price) is sent as a *Limit IOC at that price*: exact on every Bybit category, and a fill
  beyond it is impossible (the venue's matching stops there; the rest is cancelled). Only a
  market intent without protection (``price_ticks`` 0, e.g. a liquidation) is a Bybit
  ``Market`` order, which Bybit itself protects with its own price band;
- a create whose answer is lost (timeout, dropped connection, 5xx, a code ``codes`` calls
  unknown) journals ``OrderUnresolved`` and is looked up by ``orderLinkId``; found ->
  accepted, not found -> the *same* ``orderLinkId`` is sent again, which the venue refuses
  as a duplicate (110072) if the first one arrived late, so a second order can never be
  created;
- if the outcome is still unknown after the retries, ``place`` raises ``OrderOutcomeUnknown``
  and the resolver keeps looking the order up, journaling ``OrderReconciled`` when the venue
  has it, or ``not_found`` once the recv window has passed (the venue refuses any request
  older than that, so a create not there by then never will be).

``lookup`` asks ``/v5/order/realtime`` and then ``/v5/order/history`` (after a venue restart
closed orders are only in history), and says ``not_found`` only when both miss it after the
recv window since the create (or since the first lookup, for an order of an earlier run);
until then a miss is a ``RetryableVenueError``. An order found with fills gets them
journaled from ``/v5/execution/list`` (once per execId, with the private stream's memory),
so a filled IOC whose answer was lost is booked, never re-sent.

An IP ban (HTTP 403) halts trading: ``TradingHalted`` with the ban's reason is journaled
when it starts, and the REST client sends nothing for minutes (``rest.BAN_BACKOFF``).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

import trio

from asnd.backoff import Backoff
from asnd.core.link_id import parse_link_id
from asnd.venues.base import (
    OrderOutcomeUnknown,
    OrderRejectedError,
    RetryableVenueError,
)
from asnd.venues.bybit import codes
from asnd.venues.bybit.connection import FeedTiming
from asnd.venues.bybit.credentials import Credentials
from asnd.venues.bybit.parse import (
    SymbolScales,
    fill_from_row,
    instrument_from_row,
    position_from_row,
    reconciled_from_row,
)
from asnd.venues.bybit.private_ws import ExecIds, PrivateFeed, fills_since
from asnd.venues.bybit.public_ws import PublicFeed
from asnd.venues.bybit.rest import BAN_BACKOFF, BybitRest
from asnd.venues.bybit.retry import RetryPolicy, call_with_retries
from asnd.venues.bybit.wire import OrderRow
from journal.events import (
    BUY,
    Event,
    Fill,
    InstrumentInfo,
    OrderAccepted,
    OrderCancelled,
    OrderIntent,
    OrderReconciled,
    OrderRejected,
    OrderUnresolved,
    PositionReconciled,
    TradingHalted,
)

__all__ = ["BybitConfig", "BybitVenue"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BybitConfig:
    """Where and how to talk to Bybit. The URLs come from the daemon's config
    (``asnd.config.BybitSettings``: mainnet, testnet or the local venue on loopback)."""

    rest_url: str
    public_ws_url: str
    private_ws_url: str
    symbols: tuple[str, ...]
    category: str = "linear"
    depth: int = 50
    recv_window_ms: int = 5000
    rest_timeout_s: float = 5.0
    time_sync_interval_s: float = 300.0
    resolve_interval_s: float = 1.0
    timing: FeedTiming = field(default_factory=FeedTiming)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    #: How long nothing is sent after an IP ban (HTTP 403): minutes, jittered.
    ban_backoff: Backoff = BAN_BACKOFF


class BybitVenue:
    name = "bybit"

    def __init__(
        self,
        config: BybitConfig,
        credentials: Credentials | None,
        *,
        seed: int = 0,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.config = config
        self._credentials = credentials
        self._rng = random.Random(seed)
        self.wall_ns = wall_ns
        self.rest = BybitRest(
            config.rest_url,
            credentials,
            category=config.category,
            recv_window_ms=config.recv_window_ms,
            timeout_s=config.rest_timeout_s,
            policy=config.policy,
            rng=random.Random(seed + 1),
            ban_backoff=config.ban_backoff,
        )
        self.rest.on_ban = self._on_ban
        self.scales: dict[str, SymbolScales] = {}
        #: link_id -> (slot, symbol, venue time after which "not found" is final)
        self.unresolved: dict[str, tuple[int, str, int]] = {}
        #: link_id -> venue time after which "not found" is final, for orders of an earlier
        #: run that a lookup did not find (their create may be that recent)
        self._missing: dict[str, int] = {}
        #: the execIds journaled, shared with the private stream
        self.execs = ExecIds()
        self.public: PublicFeed | None = None
        self.private: PrivateFeed | None = None
        self._emit: trio.MemorySendChannel[Event] | None = None
        #: events found before ``run`` gave a channel (start-up lookups), sent when it does
        self._backlog: list[Event] = []
        #: venue time of the last start-up check of missed fills (the private stream's first
        #: connection catches up from there), or of entering ``async with``
        self._fills_checked_ms = 0

    # ------------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        await self.rest.__aenter__()
        try:
            await self.rest.sync_time()
            self._fills_checked_ms = self.rest.now_ms()
        except BaseException:
            await self.rest.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Shielded: closing the client must happen even when we leave by cancellation.
        with trio.CancelScope(shield=True):
            await self.rest.__aexit__(exc_type, exc, tb)

    def remember_fills(self, exec_ids: Iterable[str]) -> None:
        for exec_id in exec_ids:
            self.execs.add(exec_id)

    def take_backlog(self) -> list[Event]:
        backlog, self._backlog = self._backlog, []
        return backlog

    async def missed_fills(self, since_ns: int) -> list[Fill]:
        since_ms = since_ns // 1_000_000 + self.rest.offset_ms  # our clock -> the venue's
        self._fills_checked_ms = self.rest.now_ms()  # the private stream goes on from here
        return await fills_since(self.rest, self.scales, self.execs, since_ms, self.wall_ns)

    # -------------------------------------------------------------------------- service

    async def run(
        self,
        emit: trio.MemorySendChannel[Event],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        self._emit = emit
        for event in self._backlog:
            await emit.send(event)
        self._backlog.clear()
        cfg = self.config
        if not self.rest.is_open:
            raise RuntimeError("BybitVenue.run outside 'async with venue'")
        for info in await self.instruments(cfg.symbols):
            await emit.send(info)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.rest.run_time_sync, cfg.time_sync_interval_s)
            self.public = PublicFeed(
                cfg.public_ws_url, self.scales, depth=cfg.depth, timing=cfg.timing,
                rng=random.Random(self._rng.random()), venue=self.name, wall_ns=self.wall_ns,
            )  # fmt: skip
            await nursery.start(self.public.run, emit)
            if self._credentials is not None:
                self.private = PrivateFeed(
                    cfg.private_ws_url, self._credentials, self.rest, self.scales,
                    timing=cfg.timing, rng=random.Random(self._rng.random()),
                    venue=self.name, wall_ns=self.wall_ns, seen=self.execs,
                    catch_up_from_ms=self._fills_checked_ms,
                )  # fmt: skip
                await nursery.start(self.private.run, emit)
                nursery.start_soon(self._resolver)
            task_status.started()

    async def _resolver(self) -> None:
        """Look up every unresolved order until the venue says what became of it."""
        while True:
            await trio.sleep(self.config.resolve_interval_s)
            for link_id, (_slot, symbol, _final) in list(self.unresolved.items()):
                try:
                    found = await self.lookup(symbol, link_id)
                except RetryableVenueError as exc:
                    log.warning("lookup of unresolved %s: %s", link_id, exc)
                    continue
                await self._journal(found)

    async def _on_ban(self, reason: str) -> None:
        await self._journal(TradingHalted(0, self.wall_ns(), reason))

    # ------------------------------------------------------------------- request/answer

    async def instruments(self, symbols: Sequence[str]) -> list[InstrumentInfo]:
        infos: list[InstrumentInfo] = []
        for symbol in symbols:
            rows = [r for r in await self.rest.instruments(symbol) if r.symbol == symbol]
            if not rows:
                raise OrderRejectedError(f"bybit has no {self.config.category} symbol {symbol!r}")
            info = instrument_from_row(rows[0], self.wall_ns(), self.name)
            self.scales[symbol] = SymbolScales.of(info)
            infos.append(info)
        return infos

    def _order_body(self, intent: OrderIntent) -> dict[str, object]:
        """The create body. A protected market intent is a Limit IOC at its protection price
        (see the module docstring): Bybit cannot fill it beyond that price."""
        sc = self.scales[intent.symbol]
        market = intent.order_type == "market"
        unprotected = market and intent.price_ticks <= 0
        body: dict[str, object] = {
            "symbol": intent.symbol,
            "side": "Buy" if intent.side == BUY else "Sell",
            "orderType": "Market" if unprotected else "Limit",
            "qty": sc.lot.text(intent.qty_lots),
            "orderLinkId": intent.link_id,
            "timeInForce": "IOC" if market else intent.tif,
        }
        if not unprotected:
            body["price"] = sc.tick.text(intent.price_ticks)
        if intent.reduce_only:
            body["reduceOnly"] = True
        return body

    async def place(self, intent: OrderIntent) -> OrderAccepted | OrderRejected:
        if intent.symbol not in self.scales:
            raise OrderRejectedError(f"no instrument info for {intent.symbol!r}; run() first")
        body = self._order_body(intent)
        link_id = intent.link_id

        async def attempt() -> OrderAccepted:
            try:
                ack = await self.rest.create_order(body)
                if link_id in self.unresolved:
                    # An earlier attempt was unknown; the resend answered: journal the truth.
                    await self._journal(await self.lookup(intent.symbol, link_id))
                return OrderAccepted(0, self.wall_ns(), intent.slot, link_id, ack.orderId)
            except OrderOutcomeUnknown as exc:
                final_after = self.rest.now_ms() + self.config.recv_window_ms + 1000
                self.unresolved[link_id] = (intent.slot, intent.symbol, final_after)
                await self._journal(
                    OrderUnresolved(0, self.wall_ns(), intent.slot, link_id, str(exc))
                )
            except OrderRejectedError as exc:
                if exc.code is None or codes.policy_of(exc.code) is not codes.Policy.DUPLICATE:
                    raise
            found = await self.rest.order_by_link_id(intent.symbol, link_id)
            if found is None:
                # Not there (yet): sending the same orderLinkId again is safe, the venue
                # refuses a duplicate if the first create arrives late.
                raise RetryableVenueError(
                    f"create {link_id}: outcome unknown, not at venue; resending"
                )
            self.unresolved.pop(link_id, None)
            await self._journal_fills(found)
            await self._journal(self._reconciled(link_id, found))
            return OrderAccepted(0, self.wall_ns(), intent.slot, link_id, found.order_id)

        try:
            return await call_with_retries(
                attempt,
                what=f"place {link_id}",
                policy=self.config.policy,
                rng=self._rng,
                before_retry=self.rest.resync_on_10002,  # a create refused for our clock
            )
        except OrderRejectedError as exc:
            self.unresolved.pop(link_id, None)
            return OrderRejected(0, self.wall_ns(), intent.slot, link_id, exc.code or -1, str(exc))
        except RetryableVenueError as exc:
            if link_id in self.unresolved:
                raise OrderOutcomeUnknown(
                    f"place {link_id}: outcome unknown: {exc}", code=exc.code
                ) from None
            raise

    async def _journal(self, event: Event) -> None:
        if self._emit is not None:
            await self._emit.send(event)
        else:
            self._backlog.append(event)

    async def _journal_fills(self, row: OrderRow) -> None:
        """Journal the fills of a found order that are not journaled yet (its answer, or its
        stream frames, may have been lost), oldest first, from ``/v5/execution/list``."""
        if self.scales[row.symbol].lot.count(row.cum_exec_qty or "0") == 0:
            return
        for execution in await self.rest.executions(row.symbol, link_id=row.order_link_id):
            if execution.exec_type != "Trade":
                continue
            fill = fill_from_row(execution, self.scales, self.wall_ns())
            if self.execs.add(fill.exec_id):
                await self._journal(fill)

    def _reconciled(self, link_id: str, row: OrderRow | None) -> OrderReconciled:
        return reconciled_from_row(link_id, row, self.scales, self.wall_ns())

    async def cancel(self, symbol: str, link_id: str) -> Event:
        slot = _slot(link_id)
        try:
            ack = await self.rest.cancel_order(symbol, link_id)
        except OrderRejectedError as exc:
            if exc.code is None or codes.policy_of(exc.code) is not codes.Policy.GONE:
                raise
            return await self.lookup(symbol, link_id)  # already gone: say what became of it
        return OrderCancelled(0, self.wall_ns(), slot, link_id, ack.orderId, "CancelByUser")

    async def lookup(self, symbol: str, link_id: str) -> OrderReconciled:
        """What became of ``link_id``: realtime, then history; fills journaled. A miss in
        both is ``not_found`` only after the recv window (``RetryableVenueError`` before)."""
        row = await self.rest.order_by_link_id(symbol, link_id)
        if row is None:
            pending = self.unresolved.get(link_id)
            final_after = (
                pending[2]
                if pending is not None
                else self._missing.setdefault(
                    link_id, self.rest.now_ms() + self.config.recv_window_ms + 1000
                )
            )
            wait_ms = final_after - self.rest.now_ms()
            if wait_ms > 0:
                raise RetryableVenueError(
                    f"lookup {link_id}: in neither open orders nor history yet; a create can "
                    f"still arrive for {wait_ms} ms (recv window)",
                    retry_after_s=wait_ms / 1000,
                )
        else:
            await self._journal_fills(row)
        self.unresolved.pop(link_id, None)
        self._missing.pop(link_id, None)
        return self._reconciled(link_id, row)

    async def reconcile(
        self, symbols: Sequence[str]
    ) -> tuple[list[OrderReconciled], list[PositionReconciled]]:
        orders: list[OrderReconciled] = []
        positions: list[PositionReconciled] = []
        for symbol in symbols:
            for row in await self.rest.open_orders(symbol):
                orders.append(self._reconciled(row.order_link_id, row))
            for prow in await self.rest.positions(symbol):
                positions.append(position_from_row(prow, self.scales, self.wall_ns()))
        return orders, positions


def _slot(link_id: str) -> int:
    parsed = parse_link_id(link_id)
    return -1 if parsed is None else parsed.slot
