"""The local venue's REST side: a small HTTP/1.1 server (h11 on trio) answering Bybit v5 paths.

Signed requests are checked as Bybit checks them: ``X-BAPI-API-KEY`` must be known (10003),
``server_time - recv_window <= X-BAPI-TIMESTAMP < server_time + 1000`` (10002) and
``X-BAPI-SIGN`` must be the HMAC of timestamp + key + recv window + the exact query string or
body received (10004). Answers use Bybit's envelope, codes and rate-limit headers. The paged
list endpoints (open orders, order history, executions, positions) are in ``lists``; the
faults (HTTP statuses, injected retCodes, lost answers) are consumed here.
"""

from __future__ import annotations

import hmac
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import h11
import msgspec
import trio

from asnd.venues.bybit import codes
from asnd.venues.bybit.local import key_info, market_data
from asnd.venues.bybit.local.exchange import Exchange, ExchangeError
from asnd.venues.bybit.local.faults import Faults
from asnd.venues.bybit.local.lists import LIST_PATHS, answer_list
from asnd.venues.bybit.local.market_data import instrument_row
from asnd.venues.bybit.parse import units
from asnd.venues.bybit.signing import sign_rest, timestamp_in_window
from journal.events import BUY, SELL

__all__ = ["RestHandler", "instrument_row"]

log = logging.getLogger(__name__)
_ENCODE = msgspec.json.Encoder()
_MAX_BODY = 1 << 20
Answer = tuple[int, list[tuple[str, str]], bytes]
#: One endpoint: (exchange, params, the caller's API key, server time in ms) -> ``result``.
Handler = Callable[[Exchange, dict[str, Any], str, int], Any]
HANDLERS: dict[tuple[str, str], Handler] = {
    ("GET", "/v5/market/time"): market_data.server_time,
    ("GET", "/v5/market/instruments-info"): market_data.instruments_info,
    ("GET", "/v5/market/orderbook"): market_data.orderbook,
    ("GET", "/v5/market/recent-trade"): market_data.recent_trades,
    ("GET", "/v5/market/tickers"): market_data.tickers,
    ("GET", "/v5/asset/coin/query-info"): key_info.coin_info,
    ("GET", "/v5/user/query-api"): key_info.api_key_info,
    ("GET", "/v5/account/info"): key_info.account_info,
    ("GET", "/v5/account/wallet-balance"): key_info.wallet_balance,
}


def _envelope(code: int, message: str, result: Any, now_ms: int) -> bytes:
    body = {"retCode": code, "retMsg": message, "result": result, "retExtInfo": {}, "time": now_ms}
    return _ENCODE.encode(body)


class RestHandler:
    """Serves one HTTP connection at a time per call of ``serve_connection``."""

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
        self.requests = 0
        self.by_path: Counter[str] = Counter()  # requests received, per path
        #: Told (method, path) of every request received: a spy for tests in another process.
        self.on_request: Callable[[str, str], None] | None = None

    # --------------------------------------------------------------------------- HTTP I/O

    async def serve_connection(self, stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                request = await self._read_request(conn, stream)
                if request is None:
                    return
                method, target, headers, body = request
                answer = await self._answer(method, target, headers, body, stream)
                if answer is None:
                    return  # "timeout after accept": the client never hears back
                status, extra, payload = answer
                hdrs = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
                await stream.send_all(
                    conn.send(h11.Response(status_code=status, headers=hdrs + extra))
                )
                await stream.send_all(conn.send(h11.Data(data=payload)))
                await stream.send_all(conn.send(h11.EndOfMessage()))
                if conn.our_state is h11.MUST_CLOSE:
                    return
                conn.start_next_cycle()
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.RemoteProtocolError):
            return

    async def _read_request(
        self, conn: h11.Connection, stream: trio.SocketStream
    ) -> tuple[str, str, dict[str, str], bytes] | None:
        method, target, headers, body = "", "", {}, b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await stream.receive_some(65536)
                if not data and conn.their_state is h11.IDLE:
                    return None
                conn.receive_data(data)
            elif isinstance(event, h11.Request):
                method, target = event.method.decode(), event.target.decode()
                headers = {k.decode().lower(): v.decode() for k, v in event.headers}
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > _MAX_BODY:
                    return None
            elif isinstance(event, h11.EndOfMessage):
                return method, target, headers, body
            elif isinstance(event, h11.ConnectionClosed):
                return None

    # ---------------------------------------------------------------------------- answers

    def _limit_headers(self) -> list[tuple[str, str]]:
        reset = self.server_ms() + self.faults.rate_limit_reset_ms
        return [
            ("X-Bapi-Limit", "10"),
            ("X-Bapi-Limit-Status", "9"),
            ("X-Bapi-Limit-Reset-Timestamp", str(reset)),
        ]

    def _json(self, code: int, message: str, result: Any, *, limit: bool = False) -> Answer:
        extra = self._limit_headers() if limit else []
        return 200, extra, _envelope(code, message, result, self.server_ms())

    def _auth_error(self, headers: dict[str, str], payload: str) -> Answer | None:
        key = headers.get("x-bapi-api-key", "")
        secret = self._api_keys.get(key)
        if secret is None:
            return self._json(codes.INVALID_KEY, "API key is invalid.", {})
        try:
            ts = int(headers.get("x-bapi-timestamp", ""))
            window = int(headers.get("x-bapi-recv-window", "5000"))
        except ValueError:
            return self._json(codes.PARAMS_ERROR, "invalid timestamp or recv_window header", {})
        now = self.server_ms()
        if not timestamp_in_window(ts, now, window):
            message = (
                "invalid request, please check your server timestamp or recv_window param. "
                f"req_timestamp[{ts}],server_timestamp[{now}],recv_window[{window}]"
            )
            return self._json(codes.TIMESTAMP_OUT_OF_WINDOW, message, {})
        expected = sign_rest(secret, ts, key, window, payload)
        if not hmac.compare_digest(expected, headers.get("x-bapi-sign", "")):
            return self._json(codes.SIGN_ERROR, "error sign! origin_string mismatch", {})
        return None

    async def _answer(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        stream: trio.SocketStream,
    ) -> Answer | None:
        self.requests += 1
        self.by_path[target.partition("?")[0]] += 1
        if self.on_request is not None:
            self.on_request(method, target.partition("?")[0])
        if self.faults.delay_s:
            await trio.sleep(self.faults.delay_s)
        if self.faults.take("http_5xx"):
            return 502, [], b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        if self.faults.http_statuses:
            status = self.faults.http_statuses.pop(0)
            return status, [], f"<html><body><h1>{status}</h1></body></html>".encode()
        path, _, query = target.partition("?")
        public = path.startswith("/v5/market/")
        if method == "GET":
            params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
            payload = query
        else:
            try:
                params = msgspec.json.decode(body)
            except msgspec.DecodeError:
                return self._json(codes.PARAMS_ERROR, "request body is not JSON", {})
            payload = body.decode()
        if not public:
            failure = self._auth_error(headers, payload)
            if failure is not None:
                return failure
            if self.faults.take("rate_limited"):
                return self._json(codes.RATE_LIMITED, "Too many visits!", {}, limit=True)
            if self.faults.take("time_window"):
                return self._json(
                    codes.TIMESTAMP_OUT_OF_WINDOW,
                    "invalid request, please check your server timestamp or recv_window param",
                    {},
                )
        code = None if public else self.faults.take_code(path)
        if code is not None and not self.faults.code_after_execute:
            return self._json(code, _injected(code), {}, limit=True)
        try:
            result = self._route(method, path, params, headers.get("x-bapi-api-key", ""))
        except ExchangeError as exc:
            return self._json(exc.code, str(exc), {}, limit=not public)
        except (KeyError, ValueError) as exc:
            return self._json(codes.PARAMS_ERROR, f"params error: {exc}", {}, limit=not public)
        if code is not None:  # executed, and yet the answer says otherwise
            return self._json(code, _injected(code), {}, limit=True)
        if path == "/v5/order/create" and self.faults.take("timeout_after_accept"):
            await _wait_for_close(stream)
            return None
        return self._json(codes.OK, "OK", result, limit=not public)

    def _route(self, method: str, path: str, p: dict[str, Any], api_key: str) -> Any:
        ex = self.exchange
        if (method, path) == ("POST", "/v5/order/create"):
            m = ex.market(p["symbol"])
            order_type = p["orderType"]
            order = ex.create(
                symbol=p["symbol"],
                side=BUY if p["side"] == "Buy" else SELL,
                order_type=order_type,
                qty_lots=units("qty", p["qty"], m.lot),
                price_ticks=units("price", p["price"], m.tick) if order_type == "Limit" else 0,
                tif=p.get("timeInForce", "GTC"),
                link_id=p.get("orderLinkId", ""),
                reduce_only=bool(p.get("reduceOnly", False)),
                position_idx=int(p.get("positionIdx", 0)),
            )
            return {"orderId": order.order_id, "orderLinkId": order.link_id}
        if (method, path) == ("POST", "/v5/order/cancel"):
            ids = {"link_id": p.get("orderLinkId", ""), "order_id": p.get("orderId", "")}
            order = ex.cancel(p["symbol"], **ids)
            return {"orderId": order.order_id, "orderLinkId": order.link_id}
        if (method, path) == ("POST", "/v5/order/amend"):
            m = ex.market(p["symbol"])
            qty = units("qty", p["qty"], m.lot) if "qty" in p else None
            price = units("price", p["price"], m.tick) if "price" in p else None
            ids = {"link_id": p.get("orderLinkId", ""), "order_id": p.get("orderId", "")}
            order = ex.amend(p["symbol"], **ids, qty_lots=qty, price_ticks=price)
            return {"orderId": order.order_id, "orderLinkId": order.link_id}
        if method == "GET" and path in LIST_PATHS:
            return answer_list(ex, self.faults, path, p)
        # The rest are plain functions of the exchange's state (market data, key/account info).
        handler = HANDLERS.get((method, path))
        if handler is None:
            raise ExchangeError(codes.PARAMS_ERROR, f"unknown path {method} {path}")
        return handler(ex, p, api_key, self.server_ms())


def _injected(code: int) -> str:
    """The message of an injected retCode: Bybit's meaning from the policy table."""
    return codes.POLICY.get(code, (codes.Policy.UNKNOWN, "injected by the local venue"))[1]


async def _wait_for_close(stream: trio.SocketStream) -> None:
    """Hold the connection open, answering nothing, until the client gives up and closes it."""
    try:
        while await stream.receive_some(65536):
            pass
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
