"""The executor: sends approved orders to the venue and reports every outcome as an input.

Orders of one slot go out one at a time, in the order they were approved (a cancel never
overtakes the create it cancels); slots do not wait for each other. What comes back becomes
an input on the core's inbox, to be journaled and applied like market data:

- ``OrderSent`` before the request, then the venue's answer (``OrderAccepted`` /
  ``OrderRejected``; fills arrive on the venue's stream).
- A venue error that leaves the outcome unknown (``RetryableVenueError``, including
  ``OrderOutcomeUnknown``: the venue client already retried what it safely could) makes the
  order ``OrderUnresolved``; it is then looked up by its ``link_id`` until the venue says what
  became of it (``OrderReconciled``). The create is never re-sent, so no order is doubled.
- ``OrderRejectedError`` becomes ``OrderRejected``; ``NeedsHumanError`` halts trading
  (``TradingHalted``) with the venue's reason: keys, permissions and IP bans need a person.
- While the daemon shuts down (``draining``), new orders are not sent: each is answered with
  an ``OrderRejected`` (code ``DRAINING``) so the journal says why; cancels still go out,
  except a cancel of an order refused that way: the venue never saw it, and asking would
  only start a lookup that waits out the recv window before it may say "not found".
- Cancels are retried until the venue answers (taking risk off must not give up); a cancel
  the venue refuses is resolved by a lookup, because then the order's real state matters.
- Any other exception from the venue (a bug in an adapter, a parser's ``KeyError``, an
  ``httpx``/``ssl``/``json`` error its mapping missed) is logged with its traceback and
  treated as "we do not know what happened": a create becomes ``OrderUnresolved`` (the reason
  names the exception, on one line and cut short) and is looked up; a cancel is resolved by a
  lookup; a lookup is retried with the same backoff. The slot's worker carries on with its
  next order, instead of the actor crashing and leaving the order "sent" until a restart.
  Only ``Exception`` is caught: cancellation (``trio.Cancelled``) and ``KeyboardInterrupt``
  pass through, so the executor still shuts down with its nursery.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final, Protocol

import msgspec
import structlog
import trio

from asnd.backoff import Backoff
from asnd.core.halts import HaltKind, halt_text
from asnd.venues.base import (
    NeedsHumanError,
    OrderRejectedError,
    RetryableVenueError,
    Venue,
    VenueError,
)
from journal.events import (
    CancelIntent,
    Event,
    OrderIntent,
    OrderRejected,
    OrderSent,
    OrderUnresolved,
    TradingHalted,
)

__all__ = ["Executor", "OrderDesk"]

_log = structlog.get_logger("asnd.executor")

#: Rejection code for refusals that did not come from the venue's own codes.
LOCAL_REJECT: Final = -1
#: Rejection code for orders not sent because the daemon is shutting down.
DRAINING: Final = -2
SLOT_QUEUE: Final = 64
#: Longest exception message kept in an ``OrderUnresolved`` reason (it is journaled for good).
MAX_REASON: Final = 200


class OrderDesk(Protocol):
    """What the executor needs of the core (``asnd.actors.core.CoreActor``): the approved
    orders to send, and a way to hand back what became of them as inputs."""

    @property
    def orders(self) -> trio.MemoryReceiveChannel[OrderIntent | CancelIntent]: ...

    async def submit(self, *events: Event, wait: bool = False) -> list[Event]: ...


def _unexpected(exc: Exception) -> str:
    """One line for an exception outside the venue's tree: its type and (cut) message."""
    message = " ".join(str(exc).split())
    if len(message) > MAX_REASON:
        message = message[: MAX_REASON - 3] + "..."
    kind = f"unexpected {type(exc).__name__}"
    return f"{kind}: {message}" if message else kind


class Executor:
    def __init__(
        self,
        venue: Venue,
        core: OrderDesk,
        *,
        backoff_initial_s: float = 0.25,
        backoff_max_s: float = 30.0,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.venue = venue
        self.core = core
        # No jitter: one executor per daemon, its retries are not in lockstep with anyone's.
        self.backoff = Backoff(backoff_initial_s, backoff_max_s, jitter=0.0)
        self._clock_ns = clock_ns
        self._queues: dict[int, trio.MemorySendChannel[OrderIntent | CancelIntent]] = {}
        self.pending = 0  # orders taken from the core and not yet answered
        self.draining = False
        self._not_sent: set[str] = set()  # link ids refused while draining

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self._queues = {}  # the workers of an earlier run are gone with its nursery
        async with trio.open_nursery() as nursery:
            task_status.started()
            async for order in self.core.orders:
                self.pending += 1
                queue = self._queues.get(order.slot)
                if queue is None:
                    queue, receive = trio.open_memory_channel[OrderIntent | CancelIntent](
                        SLOT_QUEUE
                    )
                    self._queues[order.slot] = queue
                    nursery.start_soon(self._slot_worker, receive)
                await queue.send(order)

    async def _slot_worker(
        self, orders: trio.MemoryReceiveChannel[OrderIntent | CancelIntent]
    ) -> None:
        async for order in orders:
            try:
                if isinstance(order, OrderIntent) and self.draining:
                    self._not_sent.add(order.link_id)
                    await self._input(
                        OrderRejected(
                            0,
                            self._clock_ns(),
                            order.slot,
                            order.link_id,
                            DRAINING,
                            "not sent: the daemon is shutting down",
                        )
                    )
                elif isinstance(order, OrderIntent):
                    await self.place(order)
                elif order.link_id in self._not_sent:
                    _log.info("cancel of an unsent order: nothing to ask", link_id=order.link_id)
                else:
                    await self.cancel(order)
            finally:
                self.pending -= 1

    def _backoff(self, attempt: int, hint: float | None = None) -> float:
        return max(self.backoff.delay(attempt), 0.0 if hint is None else float(hint))

    async def _input(self, *events: Event) -> None:
        await self.core.submit(*events)

    async def place(self, intent: OrderIntent) -> None:
        now = self._clock_ns
        await self._input(OrderSent(0, now(), intent.slot, intent.link_id, intent.seq))
        try:
            answer = await self.venue.place(intent)
        except OrderRejectedError as exc:
            code = exc.code if exc.code is not None else LOCAL_REJECT
            await self._input(OrderRejected(0, now(), intent.slot, intent.link_id, code, str(exc)))
            return
        except NeedsHumanError as exc:
            await self._halt(intent.slot, intent.link_id, exc)
            return
        except RetryableVenueError as exc:
            _log.warning("order outcome unknown", link_id=intent.link_id, error=str(exc))
            await self._input(OrderUnresolved(0, now(), intent.slot, intent.link_id, str(exc)))
            await self.resolve(intent.slot, intent.symbol, intent.link_id)
            return
        except Exception as exc:  # the request may have reached the venue: never re-send it
            reason = _unexpected(exc)
            _log.exception("order outcome unknown", link_id=intent.link_id, error=reason)
            await self._input(OrderUnresolved(0, now(), intent.slot, intent.link_id, reason))
            await self.resolve(intent.slot, intent.symbol, intent.link_id)
            return
        await self._input(answer)

    async def resolve(self, slot: int, symbol: str, link_id: str) -> None:
        """Ask the venue about ``link_id`` until it answers; the answer becomes an input."""
        attempt = 0
        while True:
            attempt += 1
            try:
                found = await self.venue.lookup(symbol, link_id)
            except NeedsHumanError as exc:
                await self._halt(slot, link_id, exc)
                return
            except Exception as exc:  # whatever went wrong, the order's fate is still needed
                if isinstance(exc, VenueError):
                    _log.warning("lookup failed", link_id=link_id, attempt=attempt, error=str(exc))
                else:
                    _log.exception(
                        "lookup failed", link_id=link_id, attempt=attempt, error=_unexpected(exc)
                    )
                hint = exc.retry_after_s if isinstance(exc, RetryableVenueError) else None
                await trio.sleep(self._backoff(attempt, hint))
                continue
            if found.slot != slot:
                # A venue that does not know the order cannot name its slot; we can.
                found = msgspec.structs.replace(found, slot=slot)
            # The fills the lookup found before the venue's stream runs (start-up) go first,
            # in the same submission: an order journaled as finished without its fills would
            # never be asked about again.
            await self._input(*self.venue.take_backlog(), found)
            return

    async def cancel(self, order: CancelIntent) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                answer = await self.venue.cancel(order.symbol, order.link_id)
            except NeedsHumanError as exc:
                await self._halt(order.slot, order.link_id, exc)
                return
            except OrderRejectedError as exc:
                # Refused (e.g. already filled or gone): what is true is the order's state.
                _log.info("cancel refused", link_id=order.link_id, error=str(exc))
                await self.resolve(order.slot, order.symbol, order.link_id)
                return
            except RetryableVenueError as exc:
                _log.warning(
                    "cancel failed", link_id=order.link_id, attempt=attempt, error=str(exc)
                )
                await trio.sleep(self._backoff(attempt, exc.retry_after_s))
                continue
            except Exception as exc:  # the cancel may or may not have gone through
                _log.exception("cancel failed", link_id=order.link_id, error=_unexpected(exc))
                await self.resolve(order.slot, order.symbol, order.link_id)
                return
            await self._input(answer)
            return

    async def _halt(self, slot: int, link_id: str, exc: NeedsHumanError) -> None:
        now = self._clock_ns()
        reason = halt_text(HaltKind.VENUE, str(exc))  # logged as trading.halted once journaled
        code = exc.code if exc.code is not None else LOCAL_REJECT
        await self._input(
            OrderRejected(0, now, slot, link_id, code, str(exc)), TradingHalted(0, now, reason)
        )
