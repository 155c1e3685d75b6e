"""Signed Bybit v5 REST client (httpx on trio).

- Clock: the server-time offset is measured once at start (``sync_time``, midpoint of the
  round trip) and refreshed by ``run_time_sync`` in the background, or at once after a 10002.
  Signing never makes a time request.
- One attempt = one HTTP exchange mapped onto the exception tree of ``asnd.venues.base`` by
  the one policy table, ``codes``: timeouts, transport errors, 5xx and undocumented codes are
  retryable; on a *create* they are ``OrderOutcomeUnknown`` unless the request provably never
  left (connect failures), because the venue may have accepted it. 10006 waits until
  ``X-Bapi-Limit-Reset-Timestamp``.
- An IP ban (HTTP 403) closes a gate: every request fails at once with ``BannedError``,
  without touching the network, until a long jittered backoff (``ban_backoff``, minutes) has
  passed; ``on_ban`` is told once per ban, so the venue can halt trading and say why.
- Lists page: every list call sends ``limit`` (Bybit's maximum for that path, ``PAGE_LIMITS``)
  and follows ``nextPageCursor`` to the end (``_pages``), so nothing is lost past page one.
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

from asnd.backoff import Backoff
from asnd.core.halts import HaltKind, halt_text
from asnd.venues.base import (
    BannedError,
    NeedsHumanError,
    OrderOutcomeUnknown,
    RetryableVenueError,
)
from asnd.venues.bybit import codes
from asnd.venues.bybit.credentials import Credentials
from asnd.venues.bybit.retry import RetryPolicy, call_with_retries
from asnd.venues.bybit.wire import ExecutionRow, InstrumentRow, OrderRow, PositionRow, RestEnvelope

__all__ = ["PAGE_LIMITS", "BybitRest", "OrderAck"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_ENVELOPE = msgspec.json.Decoder(RestEnvelope)
_ENCODE = msgspec.json.Encoder()

#: The largest ``limit`` Bybit allows per list path (its docs; the local venue enforces them).
PAGE_LIMITS: dict[str, int] = {
    "/v5/order/realtime": 50,
    "/v5/order/history": 50,
    "/v5/execution/list": 100,
    "/v5/position/list": 200,
}
#: A list longer than this many pages is a venue bug (or a cursor loop), not data.
MAX_PAGES = 1000
#: Bybit lifts an IP ban after about ten minutes: the first retry waits 10-20 minutes.
BAN_BACKOFF = Backoff(base_s=1200.0, cap_s=3600.0)


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
        ban_backoff: Backoff = BAN_BACKOFF,
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
        self.ban_backoff = ban_backoff
        self.bans = 0  # consecutive 403s; 0 once a request gets through again
        self._ban_until = 0.0  # trio clock: nothing is sent before this
        self._ban_reason = ""
        #: Awaited with the reason when a ban starts (the venue halts trading there).
        self.on_ban: Callable[[str], Awaitable[None]] | None = None

    async def __aenter__(self) -> BybitRest:
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout_s)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def is_open(self) -> bool:
        """Inside ``async with``: requests can be sent."""
        return self._client is not None

    @property
    def banned_until(self) -> float:
        """The trio time before which nothing is sent (an IP ban); 0 when never banned."""
        return self._ban_until

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

    async def resync_on_10002(self, exc: RetryableVenueError) -> None:
        """The retry helper's ``before_retry``: a 10002 means our clock estimate is off."""
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
        wait = self._ban_until - trio.current_time()
        if wait > 0:
            # Sending anything while banned only prolongs the ban.
            raise BannedError(
                f"bybit {what}: not sent, {self._ban_reason}; next try in {wait:.0f}s",
                code=403,
                retry_after_s=wait,
            )
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
        try:
            result = self._result(response, what=what, create=ambiguous)
        except BannedError as exc:
            raise await self._banned(exc) from None
        self.bans = 0
        return result

    async def _banned(self, exc: BannedError) -> BannedError:
        """Close the gate for a long jittered backoff; tell ``on_ban`` when a ban starts."""
        self.bans += 1
        wait = self.ban_backoff.delay(self.bans, self._rng)
        self._ban_until = trio.current_time() + wait
        self._ban_reason = f"IP banned ({exc})"
        reason = halt_text(
            HaltKind.IP_BAN,
            f"({exc}): nothing is sent for {wait / 60:.1f} min (ban {self.bans}, "
            "backing off); trading halted: `asnctl resume` once requests succeed again",
        )
        log.error("%s", reason)
        if self.bans == 1 and self.on_ban is not None:
            await self.on_ban(reason)
        return BannedError(reason, code=exc.code, retry_after_s=wait)

    def _result(self, response: httpx.Response, *, what: str, create: bool) -> msgspec.Raw:
        status = response.status_code
        try:
            env = _ENVELOPE.decode(response.content)
        except msgspec.DecodeError:
            # Bybit's gateway answers without a v5 body: 403 for a banned IP, 5xx, ...
            raise codes.http_error_for(status, what=what, create=create) from None
        if status >= 500:
            raise codes.http_error_for(status, what=what, create=create)
        if env.retCode == codes.OK:
            return env.result
        retry_after: float | None = None
        if env.retCode == codes.RATE_LIMITED:
            reset = response.headers.get("X-Bapi-Limit-Reset-Timestamp")
            if reset is not None and reset.isdecimal():
                retry_after = max(0.0, (int(reset) - self.now_ms()) / 1000)
        raise codes.error_for(
            env.retCode, env.retMsg, what=what, create=create, retry_after_s=retry_after
        )

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
            before_retry=self.resync_on_10002,
        )

    async def _pages(
        self, path: str, params: Mapping[str, Any], row: type[T], *, what: str
    ) -> list[T]:
        """Every row of a list endpoint: ``limit`` at its maximum, ``cursor`` until the
        venue's ``nextPageCursor`` is empty. Rows come in the venue's order, page by page."""
        rows: list[T] = []
        cursor = ""
        seen: set[str] = set()
        for _page in range(MAX_PAGES):
            query = {**params, "limit": PAGE_LIMITS[path]}
            if cursor:
                query["cursor"] = cursor
            raw = await self._call("GET", path, query, signed=True, what=what)
            page = msgspec.json.decode(raw, type=_ListResult)
            rows.extend(msgspec.json.decode(page.list, type=list[row]))  # type: ignore[valid-type]
            cursor = page.nextPageCursor or ""
            if not cursor:
                return rows
            if cursor in seen:
                raise RetryableVenueError(f"bybit {what}: the venue repeated cursor {cursor!r}")
            seen.add(cursor)
        raise RetryableVenueError(f"bybit {what}: more than {MAX_PAGES} pages")

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
        return await self._pages("/v5/order/realtime", params, OrderRow, what="open orders")

    async def order_history(self, symbol: str, link_id: str = "") -> list[OrderRow]:
        """Closed orders (``/v5/order/history``), newest first; one order with ``link_id``."""
        params = {"category": self.category, "symbol": symbol}
        if link_id:
            params["orderLinkId"] = link_id
        return await self._pages("/v5/order/history", params, OrderRow, what="order history")

    async def order_by_link_id(self, symbol: str, link_id: str) -> OrderRow | None:
        """The venue's record of one of our orders; None if neither list knows it.

        ``/v5/order/realtime`` has open orders and only *recently* closed ones (after a
        venue restart, a unified account's closed orders are only in history), so an order
        it does not show is looked for in ``/v5/order/history`` before it counts as unknown.
        """
        params = {"category": self.category, "symbol": symbol, "orderLinkId": link_id}
        rows = await self._pages("/v5/order/realtime", params, OrderRow, what="order lookup")
        found = next((r for r in rows if r.order_link_id == link_id), None)
        if found is None:
            history = await self.order_history(symbol, link_id)
            found = next((r for r in history if r.order_link_id == link_id), None)
        return found

    # ---------------------------------------------------------------------- account, rules

    async def positions(self, symbol: str) -> list[PositionRow]:
        params = {"category": self.category, "symbol": symbol}
        return await self._pages("/v5/position/list", params, PositionRow, what="positions")

    async def executions(
        self, symbol: str, start_ms: int | None = None, *, link_id: str = ""
    ) -> list[ExecutionRow]:
        """Executions since ``start_ms`` (Bybit: at most 7 days from it) or of one order,
        oldest first (the venue lists newest first: the order fills must be applied in)."""
        params: dict[str, Any] = {"category": self.category, "symbol": symbol}
        if start_ms is not None:
            params["startTime"] = start_ms
        if link_id:
            params["orderLinkId"] = link_id
        rows = await self._pages("/v5/execution/list", params, ExecutionRow, what="executions")
        rows.reverse()
        rows.sort(key=lambda r: int(r.exec_time))  # stable: same-ms rows keep the venue's order
        return rows

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

    async def account_info(self) -> dict[str, Any]:
        """``/v5/account/info``: ``unifiedMarginStatus``, ``marginMode``, ... (read-only)."""
        raw = await self._call("GET", "/v5/account/info", {}, signed=True, what="account info")
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
