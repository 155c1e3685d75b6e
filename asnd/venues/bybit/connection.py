"""The reconnect discipline shared by the public and the private feed.

One loop: connect, ``on_open`` (subscribe / auth), journal ``FeedConnected``, then read
frames. A frame, data or pong, proves the link is alive; ``{"op": "ping"}`` goes out every
``ping_interval_s``; a connection silent for ``dead_after_s`` is dead. Any loss journals
``FeedLost``, calls ``on_lost`` (the feeds mark books stale there) and reconnects after an
exponential backoff with jitter from the injected RNG. The attempt counter resets once a
connection has stayed up for ``healthy_after_s``.

``NeedsHumanError`` (e.g. an auth refusal) is not a network problem: it propagates and stops
the feed, so trading halts and says why. A ``RetryableVenueError`` from ``on_open`` (the
private feed's REST catch-up failed: 5xx, a ban) is: the stream does not go live without its
catch-up, it reconnects and catches up later.
"""

from __future__ import annotations

import logging
import random
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import trio
from trio_websocket import (
    ConnectionClosed,
    HandshakeError,
    WebSocketConnection,
    wrap_client_stream,
)

from asnd.backoff import Backoff
from asnd.venues.base import RetryableVenueError
from journal.events import Event, FeedConnected, FeedLost

__all__ = ["FeedTiming", "run_connection_loop"]

log = logging.getLogger(__name__)
PING = '{"op":"ping"}'


@dataclass(frozen=True, slots=True)
class FeedTiming:
    ping_interval_s: float = 20.0
    dead_after_s: float = 30.0
    connect_timeout_s: float = 10.0
    healthy_after_s: float = 10.0
    #: A book still stale this long after its (re)subscription is resubscribed again (the
    #: snapshot may have been lost while the link itself stayed up). Checked on each pong.
    resync_after_s: float = 10.0
    backoff: Backoff = field(default_factory=Backoff)


@asynccontextmanager
async def open_websocket(url: str, connect_timeout_s: float) -> AsyncIterator[WebSocketConnection]:
    """A client WebSocket whose TCP stream we own and always close.

    ``open_websocket_url`` leaves the socket open when the *server* ends the connection (the
    client waits for a TCP close it never performs), which leaks a socket per reconnect; so
    the stream is opened here and closed in ``finally``.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"not a WebSocket URL: {url!r}")
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    resource = parts.path or "/"
    if parts.query:
        resource += "?" + parts.query
    with trio.fail_after(connect_timeout_s):
        if parts.scheme == "wss":
            stream: trio.SocketStream | trio.SSLStream[trio.SocketStream]
            stream = await trio.open_ssl_over_tcp_stream(
                parts.hostname, port, ssl_context=ssl.create_default_context()
            )
        else:
            stream = await trio.open_tcp_stream(parts.hostname, port)
    try:
        async with trio.open_nursery() as nursery:
            with trio.fail_after(connect_timeout_s):
                ws = await wrap_client_stream(nursery, stream, parts.hostname, resource)
            try:
                yield ws
            finally:
                nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            await stream.aclose()


async def _pinger(ws: WebSocketConnection, interval_s: float) -> None:
    while True:
        await trio.sleep(interval_s)
        try:
            await ws.send_message(PING)
        except ConnectionClosed:
            return  # the reader sees the close and reports it


async def _read_until_dead(
    ws: WebSocketConnection,
    timing: FeedTiming,
    on_frame: Callable[[WebSocketConnection, str | bytes], Awaitable[None]],
) -> str:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_pinger, ws, timing.ping_interval_s)
        try:
            while True:
                # Only the wait for the venue is timed: a slow consumer (backpressure from the
                # journal) must not make a live link look dead.
                with trio.move_on_after(timing.dead_after_s) as silence:
                    frame = await ws.get_message()
                if silence.cancelled_caught:
                    return f"no data or pong for {timing.dead_after_s:g}s"
                await on_frame(ws, frame)
        except ConnectionClosed as exc:
            return f"connection closed ({exc.reason})"
        finally:
            nursery.cancel_scope.cancel()


async def run_connection_loop(
    *,
    url: str,
    venue: str,
    stream: str,
    timing: FeedTiming,
    rng: random.Random,
    emit: trio.MemorySendChannel[Event],
    on_open: Callable[[WebSocketConnection, int], Awaitable[None]],
    on_frame: Callable[[WebSocketConnection, str | bytes], Awaitable[None]],
    on_lost: Callable[[str], Awaitable[None]],
    wall_ns: Callable[[], int] = time.time_ns,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Keep one WebSocket stream alive until cancelled. ``started()`` after the first open."""
    attempt = 0
    started = False
    while True:
        attempt += 1
        opened_at: float | None = None
        try:
            async with open_websocket(url, timing.connect_timeout_s) as ws:
                with trio.fail_after(timing.connect_timeout_s):
                    await on_open(ws, attempt)
                opened_at = trio.current_time()
                await emit.send(FeedConnected(0, wall_ns(), venue, stream, attempt))
                if not started:
                    started = True
                    task_status.started()
                reason = await _read_until_dead(ws, timing, on_frame)
        except* (
            OSError,
            HandshakeError,
            ConnectionClosed,
            trio.TooSlowError,
            RetryableVenueError,  # a REST catch-up in on_open failed for now: go live later
        ) as group:
            reason = "; ".join(f"{type(e).__name__}: {e}" for e in group.exceptions)
        log.warning("bybit %s feed lost: %s", stream, reason)
        await emit.send(FeedLost(0, wall_ns(), venue, stream, reason))
        await on_lost(reason)
        if opened_at is not None and trio.current_time() - opened_at >= timing.healthy_after_s:
            attempt = 1
        await trio.sleep(timing.backoff.delay(attempt, rng))
