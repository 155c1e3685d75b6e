"""``LocalBybit``: a Bybit-compatible venue on loopback (REST + public/private WebSocket).

For tests and for trying the daemon without keys::

    async with trio.open_nursery() as nursery:
        venue = LocalBybit(instruments, api_keys={"key": "secret"})
        await nursery.start(venue.serve)
        ... venue.rest_url, venue.public_url, venue.private_url ...
        venue.exchange.set_level(...); venue.faults.http_5xx = 2; venue.hub.drop("public")

Both servers bind 127.0.0.1 on port 0 (the OS picks free ports). ``clock_skew_ms`` shifts the
venue's clock against ours, so clients must measure the offset like they must on Bybit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial

import trio
from trio_websocket import serve_websocket

from asnd.venues.bybit.local.exchange import Exchange
from asnd.venues.bybit.local.faults import Faults
from asnd.venues.bybit.local.rest_server import RestHandler
from asnd.venues.bybit.local.ws_server import PRIVATE_PATH, PUBLIC_PATH, WsHub
from journal.events import InstrumentInfo

__all__ = ["LocalBybit"]

HOST = "127.0.0.1"


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class LocalBybit:
    def __init__(
        self,
        instruments: Sequence[InstrumentInfo],
        *,
        api_keys: dict[str, str],
        clock_skew_ms: int = 0,
        faults: Faults | None = None,
        wall_ms: Callable[[], int] = _wall_ms,
    ) -> None:
        self.clock_skew_ms = clock_skew_ms
        self._wall_ms = wall_ms
        self.faults = faults or Faults()
        self.exchange = Exchange(list(instruments), clock_ms=self.server_ms)
        self.hub = WsHub(self.exchange, self.faults, api_keys, self.server_ms)
        self.exchange.publish = self.hub.publish
        self.rest = RestHandler(self.exchange, self.faults, api_keys, self.server_ms)
        self.rest_url = ""
        self.public_url = ""
        self.private_url = ""

    def server_ms(self) -> int:
        return self._wall_ms() + self.clock_skew_ms

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run both servers until cancelled; ``started()`` once both listen."""
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(
                partial(trio.serve_tcp, self.rest.serve_connection, 0, host=HOST)
            )
            rest_port = listeners[0].socket.getsockname()[1]
            ws_server = await nursery.start(
                partial(serve_websocket, self.hub.handle, HOST, 0, None, handler_nursery=nursery)
            )
            ws_port = ws_server.port
            self.rest_url = f"http://{HOST}:{rest_port}"
            self.public_url = f"ws://{HOST}:{ws_port}{PUBLIC_PATH}"
            self.private_url = f"ws://{HOST}:{ws_port}{PRIVATE_PATH}"
            task_status.started()
