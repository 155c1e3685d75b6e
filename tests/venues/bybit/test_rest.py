"""The signed REST client against the local venue: clock offset, the codes that need a human,
the retry helper's waits (autojump clock), and the secret never leaking anywhere."""

from __future__ import annotations

import itertools
import logging
import random

import pytest
import trio

from asnd.backoff import Backoff
from asnd.core.link_id import make_link_id
from asnd.venues.base import NeedsHumanError, OrderRejectedError, RetryableVenueError, VenueError
from asnd.venues.bybit.credentials import Credentials
from asnd.venues.bybit.rest import BybitRest
from asnd.venues.bybit.retry import RetryPolicy, call_with_retries
from asnd.venues.bybit.venue import BybitVenue
from journal.codec import encode
from journal.events import BUY, Event, OrderIntent, OrderRejected

from .bybit_helpers import FAST_RETRY, KEY, SECRET, WAIT_S, config_for, local_bybit, running_client


async def test_server_time_offset_is_measured_and_used() -> None:
    async with (
        local_bybit(clock_skew_ms=4_000) as venue,
        BybitRest(venue.rest_url, Credentials(KEY, SECRET), policy=FAST_RETRY) as rest,
    ):
        with trio.fail_after(WAIT_S):
            offset = await rest.sync_time()
            assert 3_900 <= offset <= 4_100
            assert rest.time_syncs == 1
            # Signed requests now pass the venue's window check without another time call.
            for _ in range(3):
                await rest.open_orders("BTCUSDT")
            assert rest.time_syncs == 1


async def test_drifted_clock_gets_10002_then_resyncs_and_succeeds() -> None:
    async with (
        local_bybit(clock_skew_ms=-60_000) as venue,  # the venue is a minute behind us
        BybitRest(venue.rest_url, Credentials(KEY, SECRET), policy=FAST_RETRY) as rest,
    ):
        with trio.fail_after(WAIT_S):
            assert await rest.positions("BTCUSDT")  # 10002, resync, retry, success
        assert rest.time_syncs == 1
        assert -60_100 <= rest.offset_ms <= -59_900


@pytest.mark.parametrize(
    ("key", "secret", "code"),
    [("unknown-key", SECRET, 10003), (KEY, "wrong-secret-value", 10004)],
)
async def test_bad_key_or_signature_needs_a_human(key: str, secret: str, code: int) -> None:
    async with (
        local_bybit() as venue,
        BybitRest(venue.rest_url, Credentials(key, secret), policy=FAST_RETRY) as rest,
    ):
        with trio.fail_after(WAIT_S), pytest.raises(NeedsHumanError) as info:
            await rest.wallet_balance()
    assert info.value.code == code
    assert venue.rest.requests == 1  # never retried


async def test_rejection_is_an_order_rejected_event() -> None:
    async with local_bybit() as venue, running_client(venue) as (client, _events):
        bad = OrderIntent(
            0, 0, 4, "BTCUSDT", make_link_id(4, 1), BUY, "limit", "GTC", 99_000, 0, False, 1
        )
        with trio.fail_after(WAIT_S):
            answer = await client.place(bad)
        assert isinstance(answer, OrderRejected)
        assert answer.code == 10001
        assert "Qty invalid" in answer.reason
        assert venue.exchange.orders == {}


async def test_retry_waits_for_the_rate_limit_reset(autojump_clock: trio.testing.MockClock) -> None:
    calls: list[float] = []

    async def limited() -> str:
        calls.append(trio.current_time())
        if len(calls) < 3:
            raise RetryableVenueError("bybit x: retCode 10006", code=10006, retry_after_s=2.5)
        return "done"

    policy = RetryPolicy(attempts=4, backoff=Backoff(0.1, 1.0))
    assert await call_with_retries(limited, what="x", policy=policy, rng=random.Random(1)) == "done"
    assert [round(b - a, 6) for a, b in itertools.pairwise(calls)] == [2.5, 2.5]


async def test_retry_gives_up_and_does_not_retry_rejections(
    autojump_clock: trio.testing.MockClock,
) -> None:
    attempts = 0

    async def failing() -> None:
        nonlocal attempts
        attempts += 1
        raise RetryableVenueError("bybit x: HTTP 502", code=502)

    policy = RetryPolicy(attempts=3, backoff=Backoff(0.5, 4.0))
    start = trio.current_time()
    with pytest.raises(RetryableVenueError):
        await call_with_retries(failing, what="x", policy=policy, rng=random.Random(2))
    assert attempts == 3
    assert 0.75 <= trio.current_time() - start <= 1.5  # jittered 0.5 s then 1 s, halves at least

    async def rejected() -> None:
        nonlocal attempts
        attempts += 1
        raise OrderRejectedError("no", code=110007)

    attempts = 0
    with pytest.raises(OrderRejectedError):
        await call_with_retries(rejected, what="x", policy=policy, rng=random.Random(2))
    assert attempts == 1


def test_backoff_is_bounded_jittered_and_seeded() -> None:
    backoff = Backoff(base_s=0.5, cap_s=30.0)
    a = [backoff.delay(n, random.Random(9)) for n in range(1, 12)]
    b = [backoff.delay(n, random.Random(9)) for n in range(1, 12)]
    assert a == b
    for n, d in enumerate(a, start=1):
        raw = min(30.0, 0.5 * 2 ** (n - 1))
        assert raw / 2 <= d < raw


async def test_secret_never_in_logs_journal_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    """Every failure path, with every logger at DEBUG (httpx, httpcore, trio-websocket too)."""
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    journal: list[Event] = []
    async with local_bybit() as venue:
        async with running_client(venue, rest_timeout_s=0.3) as (client, events):
            venue.faults.http_5xx, venue.faults.rate_limited, venue.faults.time_window = 2, 2, 2
            venue.faults.timeout_after_accept = 1
            intent = OrderIntent(
                0, 0, 1, "BTCUSDT", make_link_id(1, 9), BUY, "limit", "GTC", 99_000, 5, False, 9
            )
            with trio.fail_after(WAIT_S):
                await client.place(intent)
                await client.place(intent)
                venue.faults.http_5xx = 50
                for call in (client.rest.wallet_balance(), client.cancel("BTCUSDT", "asn-1-9")):
                    try:
                        await call
                    except VenueError as exc:
                        errors.append(f"{exc!r} {exc} {exc.__cause__!r} {exc.__context__!r}")
                venue.faults.http_5xx = 0
                venue.hub.drop("all")
            journal.extend(events.drain())
        # A wrong secret: refused by the venue, the error must not carry either secret.
        bad = BybitVenue(config_for(venue), Credentials(KEY, SECRET + "-wrong"))
        send, _receive = trio.open_memory_channel[Event](1000)
        with trio.fail_after(WAIT_S):
            try:
                async with bad, trio.open_nursery() as nursery:
                    await nursery.start(bad.run, send)
            except* NeedsHumanError as group:
                errors.extend(f"{e!r} {e}" for e in group.exceptions)
    assert errors
    assert journal
    blob = b"".join(encode(e) for e in journal)  # msgpack keeps strings as raw UTF-8
    texts = [r.getMessage() for r in caplog.records] + [repr(r.args) for r in caplog.records]
    for secret in (SECRET, SECRET + "-wrong"):
        assert secret.encode() not in blob
        assert not [t for t in texts if secret in t]
        assert not [e for e in errors if secret in e]
    assert any("10004" in e or "sign" in e for e in errors)


async def test_rate_limit_reset_header_is_honoured() -> None:
    async with (
        local_bybit() as venue,
        BybitRest(venue.rest_url, Credentials(KEY, SECRET), policy=FAST_RETRY) as rest,
    ):
        venue.faults.rate_limited = 1
        venue.faults.rate_limit_reset_ms = 300
        with trio.fail_after(WAIT_S):
            start = trio.current_time()
            await rest.positions("BTCUSDT")
            waited = trio.current_time() - start
        assert waited >= 0.25  # the venue said "reset in 300 ms"; backoff alone is <= 0.1 s
        assert venue.rest.requests == 2


async def test_server_time_is_refreshed_in_the_background() -> None:
    async with (
        local_bybit(clock_skew_ms=1_000) as venue,
        BybitRest(venue.rest_url, Credentials(KEY, SECRET), policy=FAST_RETRY) as rest,
        trio.open_nursery() as nursery,
    ):
        await rest.sync_time()
        offsets, measured = trio.open_memory_channel[int](100)
        rest.on_time_sync = offsets.send_nowait
        venue.clock_skew_ms = 2_500  # the venue's clock moves; the refresh must follow
        await nursery.start(rest.run_time_sync, 0.02)
        with trio.fail_after(WAIT_S):
            async for offset in measured:
                if offset >= 2_400:
                    break
        assert rest.time_syncs >= 2
        nursery.cancel_scope.cancel()
