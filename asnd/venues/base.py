"""The venue interface: what every venue (Bybit, the simulated agent market, the local
Bybit-compatible test venue's client) offers the daemon. Kept as small as httpx's transport.

A venue is an async context, a long-running service and a few request/response calls:

- ``async with venue:`` opens what the venue owns (Bybit: its HTTP client, the server-time
  offset) and closes it on the way out, also on cancellation and errors. The daemon holds it
  open for its whole life: start-up (instruments, reconciliation), trading and the drain.
  Every other call is made inside it.
- ``remember_fills(exec_ids)``: the fills the journal already holds, told at start-up, so a
  start-up lookup or a stream catch-up never journals one of them again;
- ``take_backlog()``: what requests found before ``run`` had a channel to say it on (a
  start-up lookup's fills), for the daemon to journal before it compares positions;
- ``missed_fills(since_ns)``: our executions since then that the fill memory does not hold:
  at start-up, fills the previous run never journaled (killed between the venue's fill and
  its frame reaching the journal), of orders the journal already counts as finished.

A venue that owns nothing outside ``run`` and remembers nothing inherits ``VenueDefaults``.

- ``run(emit, task_status=...)`` streams everything the venue tells us as journal events on
  ``emit`` until cancelled: market data (``BookSnapshot``, ``BookDelta``, ``Trade``), feed
  state (``FeedConnected``, ``FeedLost``) and private updates (``OrderAccepted``,
  ``OrderCancelled``, ``OrderRejected``, ``Fill``). Events carry ``seq=0`` (the journal
  stamps it) and ``ts_local_ns`` at receipt. It calls ``task_status.started()`` once
  subscribed, so the caller knows the stream is live.
- ``place(intent)`` sends one order. It returns the venue's immediate answer as an event
  (``OrderAccepted`` or ``OrderRejected``) or raises a ``VenueError``. It is idempotent on
  ``intent.link_id``: calling it twice never creates two orders.
- ``cancel(symbol, link_id)`` cancels by our id; cancelling an order that is already gone is
  not an error (it returns an ``OrderReconciled`` saying so).
- ``lookup(symbol, link_id)`` resolves an order whose outcome is unknown.
- ``instruments(symbols)`` and ``reconcile(symbols)`` give trading rules and the venue's view
  of open orders and positions at start-up.

Exception tree (policy is encoded in the type, like freqtrade's)::

    VenueError
    ├── RetryableVenueError        timeouts, 5xx, rate limits (10006), 10002: retried in one place
    │   ├── OrderOutcomeUnknown    the request may have reached the venue: resolve by link_id
    │   └── BannedError            the venue refuses us for minutes (Bybit HTTP 403, IP ban):
    │                              trading halts with the reason, requests wait retry_after_s
    ├── OrderRejectedError         the venue said no (e.g. insufficient balance): do not retry
    └── NeedsHumanError            bad key, signature, permissions, IP (10003/10004/10005/10010):
                                   trading halts and says why
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

import trio

from asnd.core.slot import WorkingOrder
from journal.events import (
    Event,
    Fill,
    InstrumentInfo,
    OrderAccepted,
    OrderIntent,
    OrderReconciled,
    OrderRejected,
    PositionReconciled,
)

__all__ = [
    "BannedError",
    "NeedsHumanError",
    "OrderOutcomeUnknown",
    "OrderRejectedError",
    "RetryableVenueError",
    "EmbeddedVenue",
    "JournaledVenue",
    "VenueDefaults",
    "Venue",
    "VenueError",
]


class VenueError(Exception):
    """Base of everything a venue raises. Messages never contain credentials."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class RetryableVenueError(VenueError):
    """Transient: the same request may succeed later (after ``retry_after_s`` if given)."""

    def __init__(
        self, message: str, *, code: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s


class OrderOutcomeUnknown(RetryableVenueError):
    """The order may or may not exist at the venue; look it up by ``link_id``."""


class BannedError(RetryableVenueError):
    """The venue refuses every request from us for a while (Bybit: HTTP 403 after too many
    requests from one IP, lifted after about ten minutes). Not retried in the request loop:
    the client halts trading with this reason and sends nothing until ``retry_after_s``
    (minutes, with jitter) has passed; callers that must go on (lookups, cancels) wait it."""


class OrderRejectedError(VenueError):
    """The venue refused the request for a reason that a retry will not fix."""


class NeedsHumanError(VenueError):
    """Credentials, permissions or account state need an operator. Trading must halt."""


class Venue(Protocol):
    """What the daemon needs from a venue. See the module docstring for the contract."""

    name: str

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def remember_fills(self, exec_ids: Iterable[str]) -> None: ...

    def take_backlog(self) -> list[Event]: ...

    async def missed_fills(self, since_ns: int) -> list[Fill]: ...

    async def run(
        self,
        emit: trio.MemorySendChannel[Event],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None: ...

    async def instruments(self, symbols: Sequence[str]) -> list[InstrumentInfo]: ...

    async def place(self, intent: OrderIntent) -> OrderAccepted | OrderRejected: ...

    async def cancel(self, symbol: str, link_id: str) -> Event: ...

    async def lookup(self, symbol: str, link_id: str) -> OrderReconciled: ...

    async def reconcile(
        self, symbols: Sequence[str]
    ) -> tuple[list[OrderReconciled], list[PositionReconciled]]: ...


class VenueDefaults:
    """The protocol's parts a venue that owns no connection outside ``run`` and keeps no
    memory of fills does not need (the sim, test doubles): entering and leaving do nothing,
    there is no fill memory to seed and never a backlog."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def remember_fills(self, exec_ids: Iterable[str]) -> None:
        return None

    def take_backlog(self) -> list[Event]:
        return []

    async def missed_fills(self, since_ns: int) -> list[Fill]:
        return []


@runtime_checkable
class EmbeddedVenue(Protocol):
    """A venue that lives and dies with the daemon (the sim). A real venue keeps our
    positions across a restart; an embedded one must be told them, or reduce-only orders and
    reconciliation would disagree with the journal."""

    def carry_over(self, positions: dict[str, tuple[int, int]]) -> None:
        """Take over ``{symbol: (lots, avg_price_ticks)}`` that the journal says we hold."""


@runtime_checkable
class JournaledVenue(Protocol):
    """A venue whose state is a function of the journal (paper trading): after a restart it
    is told the working orders the journal's fold holds, as an ``EmbeddedVenue`` is told the
    positions, and keeps them working."""

    def resume_orders(self, orders: Sequence[tuple[int, str, WorkingOrder]]) -> None:
        """Take over ``(slot, symbol, order)`` for every working order of the fold."""
