"""The executor against the real sim venue when the venue raises something unexpected.

The venue is the real ``SimVenue`` behind a wrapper that raises scripted exceptions outside
the venue's exception tree (a bug in an adapter, a parser's ``KeyError``). The core's side is
``Inputs``: the approved-orders channel and a list of what the executor hands back, in order.
Backoff sleeps run on trio's autojump clock, so retries cost no wall time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import pytest
import structlog
import structlog.testing
import trio
import trio.testing

from asnd.actors.executor import MAX_REASON, Executor
from asnd.venues.base import VenueDefaults
from asnd.venues.sim import SimVenue
from journal.events import (
    BUY,
    CancelIntent,
    Event,
    Fill,
    InstrumentInfo,
    OrderAccepted,
    OrderCancelled,
    OrderIntent,
    OrderReconciled,
    OrderRejected,
    OrderSent,
    OrderUnresolved,
    PositionReconciled,
)

SYMBOL = "SIMUSDT"
BELOW_TOUCH = 15_000  # the sim starts at 20_000 ticks: a PostOnly buy here rests
WALL_NS = 1_700_000_000_000_000_000  # the sim stamps its answers with this: comparable


def intent(link_id: str, slot: int = 0) -> OrderIntent:
    return OrderIntent(0, 0, slot, SYMBOL, link_id, BUY, "limit", "PostOnly", BELOW_TOUCH, 2,
                       False, 0)  # fmt: skip


def cancel(link_id: str, slot: int = 0) -> CancelIntent:
    return CancelIntent(0, 0, slot, SYMBOL, link_id, "test", 0)


class Inputs:
    """The core as the executor sees it: approved orders in, answers recorded in order.

    ``offered`` also holds what a cancelled task tried to submit (the inbox refuses it).
    """

    def __init__(self) -> None:
        self.approve, self.orders = trio.open_memory_channel[OrderIntent | CancelIntent](16)
        self.events: list[Event] = []
        self.offered: list[Event] = []
        self._submitted = trio.Event()

    async def submit(self, *events: Event, wait: bool = False) -> list[Event]:
        self.offered.extend(events)
        await trio.lowlevel.checkpoint()  # as the real inbox: a cancelled task cannot submit
        self.events.extend(events)
        self._submitted.set()
        self._submitted = trio.Event()
        return []

    def of(self, link_id: str) -> list[type[Event]]:
        """The kinds of input given about ``link_id``, in order."""
        return [type(e) for e in self.events if getattr(e, "link_id", None) == link_id]

    async def answers(self, link_id: str, count: int) -> list[type[Event]]:
        """Wait until ``count`` inputs about ``link_id`` have come; the kinds of all so far."""
        with trio.fail_after(60):  # virtual seconds: backoff sleeps are on the autojump clock
            while len(self.of(link_id)) < count:
                await self._submitted.wait()
        return self.of(link_id)


class FaultyVenue(VenueDefaults):
    """The real sim venue with scripted faults: ``place_faults[link_id]`` is raised once by
    the place of that order, each of ``cancel_faults``/``lookup_faults`` by the next call.

    A place fault is raised *after* the sim took the order, as when the answer cannot be
    parsed: the order exists and only a lookup can say so. Cancel and lookup faults are raised
    before the sim sees the request. With ``hang_place`` set, place waits forever instead.
    """

    name = "sim"

    def __init__(self, inner: SimVenue) -> None:
        self.inner = inner
        self.place_faults: dict[str, BaseException] = {}
        self.cancel_faults: list[Exception] = []
        self.lookup_faults: list[Exception] = []
        self.lookups: list[str] = []
        self.hang_place = False
        self.placing = trio.Event()

    async def run(
        self,
        emit: trio.MemorySendChannel[Event],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        await self.inner.run(emit, task_status=task_status)

    async def instruments(self, symbols: Sequence[str]) -> list[InstrumentInfo]:
        return await self.inner.instruments(symbols)

    async def place(self, intent: OrderIntent) -> OrderAccepted | OrderRejected:
        self.placing.set()
        if self.hang_place:
            await trio.sleep_forever()
        answer = await self.inner.place(intent)
        fault = self.place_faults.pop(intent.link_id, None)
        if fault is not None:
            raise fault
        return answer

    async def cancel(self, symbol: str, link_id: str) -> Event:
        if self.cancel_faults:
            raise self.cancel_faults.pop(0)
        return await self.inner.cancel(symbol, link_id)

    async def lookup(self, symbol: str, link_id: str) -> OrderReconciled:
        self.lookups.append(link_id)
        if self.lookup_faults:
            raise self.lookup_faults.pop(0)
        return await self.inner.lookup(symbol, link_id)

    async def reconcile(
        self, symbols: Sequence[str]
    ) -> tuple[list[OrderReconciled], list[PositionReconciled]]:
        return await self.inner.reconcile(symbols)


async def _drain(receive: trio.MemoryReceiveChannel[Event]) -> None:
    async for _ in receive:
        pass


@asynccontextmanager
async def trading(**executor_args: float) -> AsyncIterator[tuple[FaultyVenue, Inputs, Executor]]:
    """The sim market running, and an executor serving ``Inputs``; all stopped on exit."""
    venue = FaultyVenue(SimVenue(seed=4, wall_ns=lambda: WALL_NS))
    inputs = Inputs()
    executor = Executor(venue, inputs, clock_ns=lambda: 7, **executor_args)
    stream, receive = trio.open_memory_channel[Event](1024)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_drain, receive)
        await nursery.start(venue.run, stream)
        await nursery.start(executor.run)
        yield venue, inputs, executor
        nursery.cancel_scope.cancel()


def only(events: list[Event], kind: type[Event], link_id: str) -> Event:
    (found,) = [e for e in events if isinstance(e, kind) and getattr(e, "link_id", "") == link_id]
    return found


async def test_place_raising_unexpectedly_is_unresolved_then_looked_up(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trading() as (venue, inputs, _):
        venue.place_faults["a-1"] = RuntimeError("adapter bug:\n  answer had no orderId")
        with structlog.testing.capture_logs() as logs:
            await inputs.approve.send(intent("a-1"))
            assert await inputs.answers("a-1", 3) == [OrderSent, OrderUnresolved, OrderReconciled]
        # An operator sees it at error level, with the traceback.
        assert [(x["log_level"], x["event"], x.get("exc_info")) for x in logs] == [
            ("error", "order outcome unknown", True)
        ]
        unresolved = only(inputs.events, OrderUnresolved, "a-1")
        assert isinstance(unresolved, OrderUnresolved)
        assert unresolved.reason == "unexpected RuntimeError: adapter bug: answer had no orderId"
        assert venue.lookups == ["a-1"]
        # The lookup's answer is the venue's truth: the order reached the sim and rests there.
        reconciled = only(inputs.events, OrderReconciled, "a-1")
        assert reconciled == await venue.inner.lookup(SYMBOL, "a-1")
        assert isinstance(reconciled, OrderReconciled)
        assert (reconciled.status, reconciled.slot, reconciled.leaves_lots) == ("open", 0, 2)

        # The slot's worker is still there: the next order of the slot is placed normally.
        await inputs.approve.send(intent("a-2"))
        assert await inputs.answers("a-2", 2) == [OrderSent, OrderAccepted]
        assert venue.lookups == ["a-1"]


async def test_an_unexpected_place_failure_leaves_other_slots_alone(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trading() as (venue, inputs, _):
        venue.place_faults["s0-1"] = KeyError("orderId")
        await inputs.approve.send(intent("s0-1", slot=0))
        await inputs.approve.send(intent("s1-1", slot=1))
        assert await inputs.answers("s0-1", 3) == [OrderSent, OrderUnresolved, OrderReconciled]
        assert await inputs.answers("s1-1", 2) == [OrderSent, OrderAccepted]
        unresolved = only(inputs.events, OrderUnresolved, "s0-1")
        assert isinstance(unresolved, OrderUnresolved)
        assert unresolved.reason == "unexpected KeyError: 'orderId'"


async def test_a_long_exception_message_becomes_one_short_line(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trading() as (venue, inputs, _):
        venue.place_faults["long-1"] = ValueError("Expecting value:\n" + "x" * 5000)
        await inputs.approve.send(intent("long-1"))
        await inputs.answers("long-1", 3)
        unresolved = only(inputs.events, OrderUnresolved, "long-1")
        assert isinstance(unresolved, OrderUnresolved)
        assert "\n" not in unresolved.reason
        prefix = "unexpected ValueError: "
        assert unresolved.reason.startswith(prefix + "Expecting value: xxx")
        assert unresolved.reason.endswith("x...")
        assert len(unresolved.reason) == len(prefix) + MAX_REASON


async def test_lookup_raising_unexpectedly_is_retried_with_backoff(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trading(backoff_initial_s=1.0) as (venue, inputs, _):
        venue.place_faults["b-1"] = RuntimeError("lost the answer")
        venue.lookup_faults += [ValueError("bad json"), ValueError("bad json")]
        start = trio.current_time()
        with structlog.testing.capture_logs() as logs:
            await inputs.approve.send(intent("b-1"))
            assert await inputs.answers("b-1", 3) == [OrderSent, OrderUnresolved, OrderReconciled]
        failures = [(x["log_level"], x["attempt"], x["error"]) for x in logs[1:]]
        assert failures == [("error", n, "unexpected ValueError: bad json") for n in (1, 2)]
        assert all(x.get("exc_info") is True for x in logs)
        # Two failed lookups waited 1 s, then 2 s (virtual time); the third answered.
        assert trio.current_time() - start >= 3.0
        assert venue.lookups == ["b-1"] * 3
        reconciled = only(inputs.events, OrderReconciled, "b-1")
        assert isinstance(reconciled, OrderReconciled)
        assert reconciled.status == "open"


async def test_cancel_raising_unexpectedly_is_resolved_by_a_lookup(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trading() as (venue, inputs, _):
        await inputs.approve.send(intent("c-1"))
        assert await inputs.answers("c-1", 2) == [OrderSent, OrderAccepted]
        venue.cancel_faults.append(OSError("connection reset in the middle of the reply"))
        await inputs.approve.send(cancel("c-1"))
        # The cancel never reached the sim: the lookup says the order still rests, so the
        # core knows to ask again.
        assert await inputs.answers("c-1", 3) == [OrderSent, OrderAccepted, OrderReconciled]
        reconciled = only(inputs.events, OrderReconciled, "c-1")
        assert isinstance(reconciled, OrderReconciled)
        assert reconciled.status == "open"
        assert venue.lookups == ["c-1"]

        await inputs.approve.send(cancel("c-1"))
        assert (await inputs.answers("c-1", 4))[-1] is OrderCancelled
        assert venue.lookups == ["c-1"]


async def test_cancellation_still_stops_the_executor_during_a_place(
    autojump_clock: trio.testing.MockClock,
) -> None:
    venue = FaultyVenue(SimVenue(seed=4))  # not running: place hangs before reaching it
    venue.hang_place = True
    inputs = Inputs()
    executor = Executor(venue, inputs)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(executor.run)
            await inputs.approve.send(intent("d-1"))
            await venue.placing.wait()
            nursery.cancel_scope.cancel()
    # trio.Cancelled went through the executor untouched: no unknown outcome was reported
    # and nothing was looked up.
    assert [type(e) for e in inputs.offered] == [OrderSent]
    assert venue.lookups == []
    assert executor.pending == 0


async def test_keyboard_interrupt_is_not_taken_for_a_venue_failure(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trading() as (venue, inputs, executor):
        venue.place_faults["e-1"] = KeyboardInterrupt()
        with pytest.raises(KeyboardInterrupt):
            await executor.place(intent("e-1"))
        assert [type(e) for e in inputs.offered] == [OrderSent]
        assert venue.lookups == []


async def test_draining_refuses_new_orders_and_never_asks_the_venue_to_cancel_them(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Found end to end on Bybit (issue 13): at SIGTERM the drain cancels every order the
    slot holds, including one approved but not yet sent. The draining executor refuses to
    send it, and its cancel must not go to the venue: "not found" there starts a lookup that
    waits out the recv window, holding the shutdown for seconds."""
    async with trading() as (venue, inputs, executor):
        await inputs.approve.send(intent("d-1"))
        assert await inputs.answers("d-1", 2) == [OrderSent, OrderAccepted]
        executor.draining = True
        await inputs.approve.send(intent("d-2"))
        await inputs.approve.send(cancel("d-2"))
        await inputs.approve.send(cancel("d-1"))
        assert await inputs.answers("d-1", 3) == [OrderSent, OrderAccepted, OrderCancelled]
        assert inputs.of("d-2") == [OrderRejected]
        refused = only(inputs.events, OrderRejected, "d-2")
        assert isinstance(refused, OrderRejected)
        assert refused.reason == "not sent: the daemon is shutting down"
        assert venue.lookups == []
        assert executor.pending == 0


class BackloggedVenue(FaultyVenue):
    """A lookup that found fills before the venue's stream ran (start-up): they wait in the
    venue's backlog."""

    def __init__(self, inner: SimVenue) -> None:
        super().__init__(inner)
        self.backlog: list[Event] = []

    def take_backlog(self) -> list[Event]:
        backlog, self.backlog = self.backlog, []
        return backlog


async def test_a_lookups_fills_are_handed_on_before_its_answer() -> None:
    """Found end to end on Bybit (issue 13): a start-up killed after the lookup's answer
    ("filled") was journaled but before its fills were had lost them for good, since a
    finished order is never asked about again. The fills now go first, in one submission."""
    venue = BackloggedVenue(SimVenue(seed=4, wall_ns=lambda: WALL_NS))
    inputs = Inputs()
    executor = Executor(venue, inputs, clock_ns=lambda: 7)
    fill = Fill(0, 7, 0, "b-1", "v1", "x1", SYMBOL, BUY, BELOW_TOUCH, 2, 0, True, 0, 0)
    venue.backlog = [fill]
    with trio.fail_after(5):
        await executor.resolve(0, SYMBOL, "b-1")
    assert [type(e) for e in inputs.events] == [Fill, OrderReconciled]
    assert inputs.events[0] == fill
