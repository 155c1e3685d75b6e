"""``GET /metrics`` over HTTP/1.1 (h11) from a trio task, on the configured loopback address.

Why a trio task and not ``prometheus_client.start_http_server`` (a thread): the families in
``asnd.metrics.status`` read the live core state, which only the trio thread may touch
safely (a scrape from another thread could iterate a dict the core is changing, and could
see a half-applied event). Served here, a scrape runs between two core steps, like
``asnctl status``, and the lock-free histograms (``asnd.metrics.histogram``) stay correct.
Rendering the ~250 lines of six slots takes about 5 ms of the loop per scrape on the loaded
2-core development machine (``bench/metrics.py``): at a 10 s scrape interval, 0.05%.

One request per connection (``Connection: close``), at most ``MAX_CONNECTIONS`` at once, a
deadline on each; anything but ``GET``/``HEAD /metrics`` gets a 404 or 405. A failure while
rendering is logged and answered with a 500: the endpoint never takes the daemon down.
"""

from __future__ import annotations

from functools import partial
from typing import Final

import h11
import structlog
import trio
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from asnd.config import MetricsSettings

__all__ = ["MetricsListenError", "serve_metrics"]

_log = structlog.get_logger("asnd.metrics")

MAX_CONNECTIONS: Final = 8
#: Whole exchange (request in, answer out); a scraper is local and quick.
REQUEST_TIMEOUT_S: Final = 10.0
MAX_REQUEST_BYTES: Final = 16 * 1024


class MetricsListenError(Exception):
    """The metrics address cannot be listened on (in use, not local): a start-up error."""


async def serve_metrics(
    settings: MetricsSettings,
    registry: CollectorRegistry,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``registry`` until cancelled. Raises ``MetricsListenError`` if it cannot listen."""
    assert settings.listen is not None, "metrics are off"
    host, port = settings.listen
    try:
        listeners = await trio.open_tcp_listeners(port, host=host)
    except OSError as exc:
        raise MetricsListenError(
            f"metrics.listen {settings.address}: cannot listen: {exc.strerror or exc}"
        ) from None
    _log.info("metrics served", url=f"http://{settings.address}/metrics")
    limit = trio.Semaphore(MAX_CONNECTIONS)
    task_status.started()  # bound and listening: a scrape from now on waits in the backlog
    await trio.serve_listeners(partial(_connection, registry, limit), listeners)


async def _connection(
    registry: CollectorRegistry, limit: trio.Semaphore, stream: trio.SocketStream
) -> None:
    async with stream:
        if limit.value == 0:
            return  # more scrapers than any setup has: drop this one, keep the others
        async with limit:
            with trio.move_on_after(REQUEST_TIMEOUT_S):
                try:
                    await _exchange(registry, stream)
                except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
                    return


async def _exchange(registry: CollectorRegistry, stream: trio.SocketStream) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST_BYTES)
    request: h11.Request | None = None
    while request is None:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await stream.receive_some(MAX_REQUEST_BYTES)
            if not data:
                return
            conn.receive_data(data)
        elif isinstance(event, h11.Request):
            request = event
        else:
            return
    status, body = _answer(registry, request)
    headers = [
        ("Content-Type", CONTENT_TYPE_LATEST if status == 200 else "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
    ]
    await stream.send_all(conn.send(h11.Response(status_code=status, headers=headers)))
    if request.method != b"HEAD":
        await stream.send_all(conn.send(h11.Data(data=body)))
    await stream.send_all(conn.send(h11.EndOfMessage()))


def _answer(registry: CollectorRegistry, request: h11.Request) -> tuple[int, bytes]:
    path = request.target.split(b"?", 1)[0]
    if path != b"/metrics":
        return 404, b"not found: metrics are at /metrics\n"
    if request.method not in (b"GET", b"HEAD"):
        return 405, b"method not allowed: use GET\n"
    try:
        return 200, generate_latest(registry)
    except Exception:  # a bug in a collector must not stop the scrapes, nor the daemon
        _log.exception("metrics could not be rendered")
        return 500, b"metrics could not be rendered; see the daemon's log\n"
