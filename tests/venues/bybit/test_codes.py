"""Every retCode and HTTP status in the policy table (``codes.POLICY``, ``codes.HTTP_POLICY``),
injected by the local venue on a real create (or cancel), gets the behaviour its policy
promises: documented refusals are rejections, unknown outcomes are looked up and end as
exactly one order, clock and rate problems are retried, credentials halt, bans halt and
stop sending. Real loopback sockets; every wait bounded."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
import trio

from asnd.core.link_id import make_link_id
from asnd.venues.base import BannedError, NeedsHumanError
from asnd.venues.bybit import codes
from asnd.venues.bybit.codes import HTTP_POLICY, POLICY, Policy
from asnd.venues.bybit.local.server import LocalBybit
from asnd.venues.bybit.venue import BybitVenue
from journal.events import (
    BUY,
    OrderAccepted,
    OrderIntent,
    OrderReconciled,
    OrderRejected,
    OrderUnresolved,
    TradingHalted,
)

from .bybit_helpers import WAIT_S, Collector, local_bybit, running_client

CREATE = "/v5/order/create"
CANCEL = "/v5/order/cancel"
UNDOCUMENTED = 99_999  # not in the table: must be treated as "unknown"


def intent(seq: int) -> OrderIntent:
    link = make_link_id(2, seq)
    return OrderIntent(0, 0, 2, "BTCUSDT", link, BUY, "limit", "GTC", 99_990, 5, False, seq)


def table_cases(table: Mapping[int, tuple[Policy, str]]) -> list[object]:
    return [
        pytest.param(code, rule[0], id=f"{code}-{rule[0].value}") for code, rule in table.items()
    ]


async def _place(client: BybitVenue, order: OrderIntent) -> OrderAccepted | OrderRejected:
    with trio.fail_after(WAIT_S):
        return await client.place(order)


async def expect_one_order(
    client: BybitVenue, venue: LocalBybit, events: Collector, order: OrderIntent
) -> None:
    """The outcome was unknown: journaled as such, looked up, and it ends as one order."""
    answer = await _place(client, order)
    assert isinstance(answer, OrderAccepted)
    assert answer.venue_order_id == venue.exchange.orders[order.link_id].order_id
    assert venue.exchange.creates_accepted == 1
    assert not events.of(OrderRejected)
    assert [e.link_id for e in events.of(OrderUnresolved)] == [order.link_id]
    assert client.unresolved == {}


async def expect_ban(
    client: BybitVenue, venue: LocalBybit, events: Collector, order: OrderIntent
) -> None:
    with trio.fail_after(WAIT_S), pytest.raises(BannedError) as info:
        await client.place(order)
    assert info.value.retry_after_s is not None
    assert info.value.retry_after_s >= 600  # minutes, never seconds
    halted = await events.first(TradingHalted)
    assert "IP banned" in halted.reason
    assert "asnctl" in halted.reason or "operator" in halted.reason
    sent = venue.rest.requests
    for seq in range(2, 5):  # while banned, nothing reaches the venue
        with trio.fail_after(WAIT_S), pytest.raises(BannedError):
            await client.place(intent(seq))
    with trio.fail_after(WAIT_S), pytest.raises(BannedError):
        await client.lookup("BTCUSDT", order.link_id)
    assert venue.rest.requests == sent
    assert len(events.of(TradingHalted)) == 1  # one halt per ban, not one per request
    assert venue.exchange.orders == {}


@pytest.mark.parametrize(("code", "policy"), [*table_cases(POLICY), (UNDOCUMENTED, Policy.UNKNOWN)])
async def test_every_ret_code_gets_its_policy(code: int, policy: Policy) -> None:
    assert codes.policy_of(code) is policy
    order = intent(1)
    async with local_bybit() as venue, running_client(venue) as (client, events):
        faults = venue.faults
        if policy is Policy.OK:
            assert isinstance(await _place(client, order), OrderAccepted)
            return
        if policy is Policy.GONE:
            # On a cancel: the order is not workable -> look it up, say what it is.
            assert isinstance(await _place(client, order), OrderAccepted)
            faults.code_path, faults.ret_codes = CANCEL, [code]
            with trio.fail_after(WAIT_S):
                answer = await client.cancel("BTCUSDT", order.link_id)
            assert isinstance(answer, OrderReconciled)
            assert answer.status == "open"  # the venue's truth, not a guess
            assert venue.rest.by_path[CANCEL] == 1  # looked up, not hammered
            return
        faults.ret_codes = [code]
        faults.code_after_execute = policy in (Policy.UNKNOWN, Policy.DUPLICATE)
        if policy is Policy.REJECT:
            answer = await _place(client, order)
            assert isinstance(answer, OrderRejected)
            assert answer.code == code
            assert str(code) in answer.reason
            assert venue.exchange.orders == {}
            assert venue.rest.by_path[CREATE] == 1  # a refusal is final: never retried
        elif policy in (Policy.UNKNOWN, Policy.DUPLICATE):
            # The venue *did* create it and answered the code: still exactly one order.
            if policy is Policy.DUPLICATE:
                answer = await _place(client, order)
                assert isinstance(answer, OrderAccepted)
                assert venue.exchange.creates_accepted == 1
                assert not events.of(OrderRejected)
            else:
                await expect_one_order(client, venue, events, order)
        elif policy in (Policy.RESYNC, Policy.RATE_LIMIT, Policy.BACKOFF):
            syncs = client.rest.time_syncs
            answer = await _place(client, order)
            assert isinstance(answer, OrderAccepted)
            assert venue.rest.by_path[CREATE] == 2  # refused unexecuted, then sent again
            assert venue.exchange.creates_accepted == 1
            assert not events.of(OrderUnresolved)
            if policy is Policy.RESYNC:
                assert client.rest.time_syncs == syncs + 1
        elif policy is Policy.NEEDS_HUMAN:
            with trio.fail_after(WAIT_S), pytest.raises(NeedsHumanError) as info:
                await client.place(order)
            assert info.value.code == code
            assert venue.rest.by_path[CREATE] == 1
            assert venue.exchange.orders == {}
        else:
            assert policy is Policy.BANNED
            await expect_ban(client, venue, events, order)


async def test_unknown_code_without_execution_is_looked_up_then_sent_once() -> None:
    """A server timeout where the venue did *not* create the order: the lookup misses it,
    the same orderLinkId goes out again and one order results."""
    order = intent(1)
    async with local_bybit() as venue, running_client(venue) as (client, events):
        venue.faults.ret_codes = [codes.SERVER_TIMEOUT]
        await expect_one_order(client, venue, events, order)
        assert venue.rest.by_path[CREATE] == 2
        assert venue.rest.by_path["/v5/order/history"] >= 1  # looked in history, too


@pytest.mark.parametrize(("status", "policy"), table_cases(HTTP_POLICY))
async def test_every_http_status_gets_its_policy(status: int, policy: Policy) -> None:
    order = intent(1)
    async with local_bybit() as venue, running_client(venue) as (client, events):
        venue.faults.http_statuses = [status]
        if policy is Policy.UNKNOWN:
            await expect_one_order(client, venue, events, order)
        elif policy is Policy.BACKOFF:
            assert isinstance(await _place(client, order), OrderAccepted)
            assert venue.exchange.creates_accepted == 1
            assert not events.of(OrderUnresolved)
        elif policy is Policy.NEEDS_HUMAN:
            with trio.fail_after(WAIT_S), pytest.raises(NeedsHumanError) as info:
                await client.place(order)
            assert info.value.code == status
            assert venue.exchange.orders == {}
        else:
            assert policy is Policy.BANNED
            await expect_ban(client, venue, events, order)


def test_error_text_names_the_request_code_and_meaning() -> None:
    exc = codes.error_for(110007, "ab not enough for new order", what="create")
    assert str(exc) == (
        "bybit create: retCode 110007: ab not enough for new order (available balance insufficient)"
    )
    odd = codes.error_for(UNDOCUMENTED, "???", what="create", create=True)
    assert "undocumented code" in str(odd)
