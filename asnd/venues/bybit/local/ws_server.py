"""The local venue's WebSocket side: ``/v5/public/linear`` and ``/v5/private``.

Each connection has a bounded outbox drained by a writer task; a client too slow to keep up
is disconnected (as Bybit does) rather than buffered without bound. Faults apply in the
writer: silence, delay, skipped book deltas (a ``u`` gap) and malformed frames.
Private connections must ``auth`` first (key known, ``expires`` in the future, signature of
``"GET/realtime" + expires``), answering with Bybit's auth shapes.
"""

from __future__ import annotations

import hmac
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest

from asnd.venues.bybit import codes
from asnd.venues.bybit.local.exchange import Exchange, Message
from asnd.venues.bybit.local.faults import Faults
from asnd.venues.bybit.signing import sign_ws_auth

__all__ = ["PRIVATE_PATH", "PUBLIC_PATH", "WsHub"]

log = logging.getLogger(__name__)
PUBLIC_PATH = "/v5/public/linear"
PRIVATE_PATH = "/v5/private"
PRIVATE_TOPICS = frozenset({"order", "execution", "position", "wallet"})
_OUTBOX = 10_000
_ENCODE = msgspec.json.Encoder()
_ids = itertools.count(1)


@dataclass(eq=False)
class _Conn:
    ws: WebSocketConnection
    private: bool
    conn_id: str
    send: trio.MemorySendChannel[Message]
    topics: set[str] = field(default_factory=set)
    authed: bool = False
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)


class WsHub:
    """Routes exchange messages to subscribed connections and serves the WS protocol."""

    def __init__(
        self,
        exchange: Exchange,
        faults: Faults,
        api_keys: dict[str, str],
        server_ms: Callable[[], int],
    ) -> None:
        self.exchange = exchange
        self.faults = faults
        self._api_keys = {k: v.encode() for k, v in api_keys.items()}
        self.server_ms = server_ms
        self.conns: set[_Conn] = set()
        self.connections_served = 0

    def publish(self, topic: str, message: Message) -> None:
        for conn in list(self.conns):
            if topic in conn.topics:
                self._enqueue(conn, message)

    def _enqueue(self, conn: _Conn, message: Message) -> None:
        try:
            conn.send.send_nowait(message)
        except trio.WouldBlock:
            log.warning("local bybit: %s too slow, disconnecting", conn.conn_id)
            conn.scope.cancel()
        except trio.BrokenResourceError:
            pass

    def drop(self, stream: str = "all") -> int:
        """Cut connections (``public``, ``private`` or ``all``); the clients must reconnect."""
        n = 0
        for conn in list(self.conns):
            if stream == "all" or (stream == "private") == conn.private:
                conn.scope.cancel()
                n += 1
        return n

    def count(self, stream: str) -> int:
        return sum(1 for c in self.conns if (stream == "private") == c.private)

    async def handle(self, request: WebSocketRequest) -> None:
        if request.path not in (PUBLIC_PATH, PRIVATE_PATH):
            await request.reject(404, body=b"unknown path")
            return
        if request.path == PRIVATE_PATH and self.faults.private_down:
            await request.reject(503, body=b"private stream unavailable")
            return
        ws = await request.accept()
        send, receive = trio.open_memory_channel[Message](_OUTBOX)
        conn = _Conn(ws, request.path == PRIVATE_PATH, f"local-{next(_ids)}", send)
        self.conns.add(conn)
        self.connections_served += 1
        try:
            with conn.scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._writer, conn, receive)
                    while True:
                        frame = await ws.get_message()
                        self._on_frame(conn, frame)
        except* ConnectionClosed:
            pass  # the client went away: nothing to answer
        finally:
            self.conns.discard(conn)
            send.close()

    async def _writer(self, conn: _Conn, receive: trio.MemoryReceiveChannel[Message]) -> None:
        async for message in receive:
            faults = self.faults
            if faults.silent:
                continue
            if faults.delay_s:
                await trio.sleep(faults.delay_s)
            if message.get("type") == "delta" and faults.take("skip_u"):
                continue
            if faults.take("malformed"):
                await conn.ws.send_message(
                    '{"topic":"orderbook.50.' + "x" * 8 + '","type":"delta","data":{'
                )
            await conn.ws.send_message(_ENCODE.encode(message).decode())

    # ------------------------------------------------------------------------ protocol

    def _on_frame(self, conn: _Conn, frame: str | bytes) -> None:
        try:
            request: dict[str, Any] = msgspec.json.decode(frame)
            op = request.get("op", "")
            args = request.get("args") or []
        except (msgspec.DecodeError, AttributeError):
            self._enqueue(
                conn,
                {"success": False, "ret_msg": "invalid request", "conn_id": conn.conn_id, "op": ""},
            )
            return
        req_id = request.get("req_id", "")
        if op == "ping":
            if conn.private:
                pong = {
                    "req_id": req_id,
                    "op": "pong",
                    "args": [str(self.server_ms())],
                    "conn_id": conn.conn_id,
                }
            else:
                pong = {
                    "success": True,
                    "ret_msg": "pong",
                    "conn_id": conn.conn_id,
                    "req_id": req_id,
                    "op": "ping",
                }
            self._enqueue(conn, pong)
        elif op == "auth" and conn.private:
            self._auth(conn, args, req_id)
        elif op in ("subscribe", "unsubscribe"):
            self._subscribe(conn, op, [str(a) for a in args], req_id)
        else:
            self._enqueue(
                conn,
                {
                    "success": False,
                    "ret_msg": f"unknown op {op!r}",
                    "conn_id": conn.conn_id,
                    "req_id": req_id,
                    "op": op,
                },
            )

    def _auth(self, conn: _Conn, args: list[Any], req_id: str) -> None:
        code, message = codes.OK, ""
        if len(args) != 3:
            code, message = codes.PARAMS_ERROR, "Params Error"
        else:
            key, signature = str(args[0]), str(args[2])
            expires = _expires_ms(args[1])
            secret = self._api_keys.get(key)
            if secret is None:
                code, message = codes.INVALID_KEY, "Invalid apikey"
            elif expires is None or expires <= self.server_ms():
                code, message = (
                    codes.TIMESTAMP_OUT_OF_WINDOW,
                    "Params Error: expires is in the past",
                )
            elif not hmac.compare_digest(sign_ws_auth(secret, expires), signature):
                code, message = codes.SIGN_ERROR, "Invalid sign"
        conn.authed = code == codes.OK
        answer = {
            "op": "auth",
            "success": conn.authed,
            "retCode": code,
            "retMsg": message,
            "connId": conn.conn_id,
        }
        if req_id:
            answer["req_id"] = req_id
        self._enqueue(conn, answer)

    def _valid_topic(self, conn: _Conn, topic: str) -> bool:
        if conn.private:
            return conn.authed and topic in PRIVATE_TOPICS
        kind, _, symbol = topic.rpartition(".")
        return kind in ("orderbook.50", "publicTrade") and symbol in self.exchange.markets

    def _subscribe(self, conn: _Conn, op: str, topics: list[str], req_id: str) -> None:
        bad = [t for t in topics if not self._valid_topic(conn, t)]
        if bad:
            self._enqueue(
                conn,
                {
                    "success": False,
                    "ret_msg": f"Invalid topic: {bad[0]}",
                    "conn_id": conn.conn_id,
                    "req_id": req_id,
                    "op": op,
                },
            )
            return
        self._enqueue(
            conn,
            {"success": True, "ret_msg": "", "conn_id": conn.conn_id, "req_id": req_id, "op": op},
        )
        for topic in topics:
            if op == "unsubscribe":
                conn.topics.discard(topic)
                continue
            conn.topics.add(topic)
            if topic.startswith("orderbook."):
                # Synchronous with the exchange: every later delta follows this snapshot.
                self._enqueue(conn, self.exchange.book_message(topic.rpartition(".")[2]))


def _expires_ms(value: object) -> int | None:
    """The auth ``expires``: Bybit takes a number or its decimal string (pybit sends the one,
    ccxt the other); anything else is no expiry at all."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
