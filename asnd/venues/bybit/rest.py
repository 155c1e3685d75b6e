"""Signed Bybit v5 REST client (httpx on trio).

- Clock: the server-time offset is measured once at start (``sync_time``, midpoint of the
  round trip) and refreshed by ``run_time_sync`` in the background, or at once after a 10002.
  Signing never makes a time request.
- One attempt = one HTTP exchange mapped onto the exception tree of ``asnd.venues.base``:
  timeouts, transport errors and 5xx are retryable; on a *create* they are
  ``OrderOutcomeUnknown`` unless the request provably never left (connect failures), because
  the venue may have accepted it. ``retCode`` values map through ``codes.error_for``; 10006
  waits until ``X-Bapi-Limit-Reset-Timestamp``.
- Retries happen only in ``retry.call_with_retries``. Creates are never retried here.
- Error text names the request and the venue's answer; it never contains headers, keys or
  signatures.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import msgspec
import trio

from asnd.venues.base import (
    NeedsHumanError,
    OrderOutcomeUnknown,
    RetryableVenueError,
)
from asnd.venues.bybit import codes
from asnd.venues.bybit.credentials import Credentials
from asnd.venues.bybit.retry import RetryPolicy, call_with_retries
from asnd.venues.bybit.wire import ExecutionRow, InstrumentRow, OrderRow, PositionRow, RestEnvelope

__all__ = ["BybitRest", "OrderAck"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_ENVELOPE = msgspec.json.Decoder(RestEnvelope)
_ENCODE = msgspec.json.Encoder()


class _ListResult(msgspec.Struct):
    list: msgspec.Raw
    nextPageCursor: str | None = None  # noqa: N815 -- the venue's field name


class _TimeResult(msgspec.Struct):
    timeNano: str  # noqa: N815


class OrderAck(msgspec.Struct):
    orderId: str  # noqa: N815
    orderLinkId: str = ""  # noqa: N815


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class BybitRest:
    """One venue account over REST. Use as ``async with BybitRest(...) as rest:``."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials | None,
        *,
        category: str = "linear",
        recv_window_ms: int = 5000,
        timeout_s: float = 5.0,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        wall_ms: Callable[[], int] = _wall_ms,
        trace: Callable[[str, dict[str, Any]], Awaitable[None]] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._credentials = credentials
        self.category = category
        self.recv_window_ms = recv_window_ms
        self.timeout_s = timeout_s
        self.policy = policy or RetryPolicy()
        self._rng = rng or random.Random(0)
        self._wall_ms = wall_ms
        self.offset_ms = 0
        self.time_syncs = 0
        #: Called with the new offset after every measurement (monitoring; tests wait on it).
        self.on_time_sync: Callable[[int], None] | None = None
        self._client: httpx.AsyncClient | None = None
        #: httpcore trace hook for order creates (latency instrumentation; None in production)
        self.trace = trace

    async def __aenter__(self) -> BybitRest:
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout_s)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # --------------------------------------------------------------------------- the clock

    def now_ms(self) -> int:
        """The venue's clock, estimated from ours and the last measured offset."""
        return self._wall_ms() + self.offset_ms

    async def sync_time(self) -> int:
        """Measure the server-time offset (ms) from one ``/v5/market/time`` round trip."""
        t0 = self._wall_ms()
        raw = await self._call("GET", "/v5/market/time", {}, signed=False, what="server time")
        t1 = self._wall_ms()
        server_ms = int(msgspec.json.decode(raw, type=_TimeResult).timeNano) // 1_000_000
        self.offset_ms = server_ms - (t0 + t1) // 2
        self.time_syncs += 1
        if self.on_time_sync is not None:
            self.on_time_sync(self.offset_ms)
        return self.offset_ms

    async def run_time_sync(
        self, interval_s: float, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Refresh the offset every ``interval_s``; a failed refresh keeps the old offset."""
        task_status.started()
        while True:
            await trio.sleep(interval_s)
            try:
                await self.sync_time()
            except RetryableVenueError as exc:
                log.warning(
                    "server time refresh failed, keeping offset %d ms: %s", self.offset_ms, exc
                )

    async def _resync_on_10002(self, exc: RetryableVenueError) -> None:
        if exc.code == codes.TIMESTAMP_OUT_OF_WINDOW:
            await self.sync_time()

    # ------------------------------------------------------------------------- one request

    def _signed_headers(self, payload: str) -> dict[str, str]:
        if self._credentials is None:
            raise NeedsHumanError("a private Bybit endpoint was called without credentials")
        ts = self.now_ms()
        return {
            "X-BAPI-API-KEY": self._credentials.api_key,
            "X-BAPI-TIMESTAMP": str(ts),
            "X-BAPI-RECV-WINDOW": str(self.recv_window_ms),
            "X-BAPI-SIGN": self._credentials.sign_rest(ts, self.recv_window_ms, payload),
        }

    async def _once(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any],
        *,
        signed: bool,
        what: str,
        ambiguous: bool = False,
    ) -> msgspec.Raw:
        """One exchange. ``ambiguous``: a lost answer means the outcome is unknown (creates)."""
        client = self._client
        if client is None:
            raise RuntimeError("BybitRest used outside 'async with'")
        headers: dict[str, str] = {}
        content: bytes | None = None
        url = path
        if method == "GET":
            query = urlencode(params)
            url = f"{path}?{query}" if query else path
            if signed:
                headers = self._signed_headers(query)
        else:
            content = _ENCODE.encode(dict(params))
            headers = {"Content-Type": "application/json"}
            if signed:
                headers |= self._signed_headers(content.decode())
        unknown = OrderOutcomeUnknown if ambiguous else RetryableVenueError
        try:
            extensions = {"trace": self.trace} if ambiguous and self.trace is not None else None
            response = await client.request(
                method, url, content=content, headers=headers, extensions=extensions
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise RetryableVenueError(
                f"bybit {what}: cannot connect: {type(exc).__name__}"
            ) from None
        except httpx.TimeoutException as exc:
            raise unknown(f"bybit {what}: timed out after sending ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise unknown(f"bybit {what}: connection failed ({type(exc).__name__})") from None
        return self._result(response, what=what, unknown=unknown)

    def _result(
        self, response: httpx.Response, *, what: str, unknown: type[RetryableVenueError]
    ) -> msgspec.Raw:
        status = response.status_code
        if status >= 500:
            raise unknown(f"bybit {what}: HTTP {status}", code=status)
        if status in (401, 403) and not response.content.startswith(b"{"):
            # Bybit answers 403 for an IP over its rate limit, 401 for a bad key header.
            if status == 403:
                raise RetryableVenueError(
                    f"bybit {what}: HTTP 403 (IP rate limit)", retry_after_s=1.0
                )
            raise NeedsHumanError(f"bybit {what}: HTTP 401 unauthorised", code=status)
        try:
            env = _ENVELOPE.decode(response.content)
        except msgspec.DecodeError:
            raise unknown(f"bybit {what}: HTTP {status} with a body that is not v5 JSON") from None
        if env.retCode == codes.OK:
            return env.result
        retry_after: float | None = None
        if env.retCode == codes.RATE_LIMITED:
            reset = response.headers.get("X-Bapi-Limit-Reset-Timestamp")
            if reset is not None and reset.isdecimal():
                retry_after = max(0.0, (int(reset) - self.now_ms()) / 1000)
        raise codes.error_for(env.retCode, env.retMsg, what=what, retry_after_s=retry_after)

    async def _call(
        self, method: str, path: str, params: Mapping[str, Any], *, signed: bool, what: str
    ) -> msgspec.Raw:
        async def attempt() -> msgspec.Raw:
            return await self._once(method, path, params, signed=signed, what=what)

        return await call_with_retries(
            attempt,
            what=what,
            policy=self.policy,
            rng=self._rng,
            before_retry=self._resync_on_10002,
        )

    async def _list(
        self, path: str, params: Mapping[str, Any], row: type[T], *, what: str
    ) -> list[T]:
        raw = await self._call("GET", path, params, signed=True, what=what)
        return msgspec.json.decode(msgspec.json.decode(raw, type=_ListResult).list, type=list[row])  # type: ignore[valid-type]

    # ------------------------------------------------------------------------------ orders

    async def create_order(self, body: Mapping[str, Any]) -> OrderAck:
        """Send a create exactly once. Raises ``OrderOutcomeUnknown`` when the answer was lost
        (resolve with ``order_by_link_id``; never resend blindly); may raise retryable errors
        for failures that provably did not create anything (connect errors, 10006, 10002)."""
        params = {"category": self.category, **body}
        raw = await self._once(
            "POST", "/v5/order/create", params, signed=True, what="create", ambiguous=True
        )
        return msgspec.json.decode(raw, type=OrderAck)

    async def amend_order(self, symbol: str, link_id: str, **changes: str) -> OrderAck:
        params = {"category": self.category, "symbol": symbol, "orderLinkId": link_id, **changes}
        raw = await self._call("POST", "/v5/order/amend", params, signed=True, what="amend")
        return msgspec.json.decode(raw, type=OrderAck)

    async def cancel_order(self, symbol: str, link_id: str) -> OrderAck:
        params = {"category": self.category, "symbol": symbol, "orderLinkId": link_id}
        raw = await self._call("POST", "/v5/order/cancel", params, signed=True, what="cancel")
        return msgspec.json.decode(raw, type=OrderAck)

    async def open_orders(self, symbol: str) -> list[OrderRow]:
        params = {"category": self.category, "symbol": symbol}
        return await self._list("/v5/order/realtime", params, OrderRow, what="open orders")

    async def order_by_link_id(self, symbol: str, link_id: str) -> OrderRow | None:
        """The venue's record of one of our orders, open or recently closed; None if unknown."""
        params = {"category": self.category, "symbol": symbol, "orderLinkId": link_id}
        rows = await self._list("/v5/order/realtime", params, OrderRow, what="order lookup")
        return next((r for r in rows if r.order_link_id == link_id), None)

    # ---------------------------------------------------------------------- account, rules

    async def positions(self, symbol: str) -> list[PositionRow]:
        params = {"category": self.category, "symbol": symbol}
        return await self._list("/v5/position/list", params, PositionRow, what="positions")

    async def executions(self, symbol: str, start_ms: int) -> list[ExecutionRow]:
        params = {"category": self.category, "symbol": symbol, "startTime": start_ms}
        return await self._list("/v5/execution/list", params, ExecutionRow, what="executions")

    async def wallet_balance(self, account_type: str = "UNIFIED") -> dict[str, Any]:
        raw = await self._call(
            "GET",
            "/v5/account/wallet-balance",
            {"accountType": account_type},
            signed=True,
            what="wallet",
        )
        result: dict[str, Any] = msgspec.json.decode(raw)
        return result

    async def instruments(self, symbol: str) -> list[InstrumentRow]:
        params = {"category": self.category, "symbol": symbol}
        raw = await self._call(
            "GET", "/v5/market/instruments-info", params, signed=False, what="instruments"
        )
        return msgspec.json.decode(
            msgspec.json.decode(raw, type=_ListResult).list, type=list[InstrumentRow]
        )
