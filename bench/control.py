"""Control socket round trips: requests/s through ``serve_control`` against a bare line echo.

Both sides use the same trio Unix-socket client doing one request, one response at a time,
so the ratio is the cost of the protocol layer (peer check, JSON parse/validate, the
``OperatorCommand``, dispatch, JSON encode) over the transport itself. It bounds how fast
``asnctl``/monitoring can poll; the daemon's trading path does not go through it.

Prints JSON lines: name, value, unit, reference, ratio, peak_rss_mib.
"""

from __future__ import annotations

import json
import logging
import resource
import socket
import tempfile
import time
from functools import partial
from pathlib import Path

import structlog
import trio

from asnd.control import (
    ChallengersRequest,
    KillRequest,
    ResumeRequest,
    StatusRequest,
    SwapRequest,
    serve_control,
)
from journal.events import OperatorCommand

REQUESTS = 5_000
STATUS = {
    "daemon": {"venue": "sim", "state": "trading"},
    "slots": [
        {"slot": i, "symbol": "BTCUSDT", "strategy_id": "x", "state": "active", "equity": "200"}
        for i in range(6)
    ],
}


class Handler:
    async def status(self, command: OperatorCommand, request: StatusRequest) -> object:
        return STATUS

    async def challengers(self, command: OperatorCommand, request: ChallengersRequest) -> object:
        return []

    async def swap(self, command: OperatorCommand, request: SwapRequest) -> object:
        return {}

    async def kill(self, command: OperatorCommand, request: KillRequest) -> object:
        return {}

    async def resume(self, command: OperatorCommand, request: ResumeRequest) -> object:
        return {}


async def echo_server(path: Path, task_status: trio.TaskStatus[None]) -> None:
    """The reference: read a line, answer a fixed line of the same size as a status reply."""
    reply = (json.dumps({"id": 1, "ok": True, "result": STATUS}) + "\n").encode()
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    await sock.bind(str(path))
    sock.listen()
    listener = trio.SocketListener(sock)
    task_status.started()

    async def serve(stream: trio.SocketStream) -> None:
        buffer = b""
        async with stream:
            while chunk := await stream.receive_some():
                buffer += chunk
                while b"\n" in buffer:
                    _, buffer = buffer.split(b"\n", 1)
                    await stream.send_all(reply)

    async with trio.open_nursery() as nursery:
        while True:
            nursery.start_soon(serve, await listener.accept())


async def round_trips(path: Path) -> float:
    stream = await trio.open_unix_socket(str(path))
    request = b'{"id": 1, "cmd": "status"}\n'
    start = time.perf_counter()
    async with stream:
        for _ in range(REQUESTS):
            await stream.send_all(request)
            buffer = b""
            while not buffer.endswith(b"\n"):
                buffer += await stream.receive_some()
    return REQUESTS / (time.perf_counter() - start)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await measure(Path(tmp))


async def measure(folder: Path) -> None:
    async with trio.open_nursery() as nursery:
        await nursery.start(echo_server, folder / "echo.sock")
        reference = await round_trips(folder / "echo.sock")
        await nursery.start(partial(serve_control, folder / "c.sock", Handler(), slot_count=6))
        measured = await round_trips(folder / "c.sock")
        nursery.cancel_scope.cancel()
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "name": "control.status_round_trips",
                "value": round(measured),
                "unit": "requests/s",
                "reference": "bare trio Unix-socket line echo, same reply size",
                "reference_value": round(reference),
                "ratio": round(measured / reference, 3),
                "peak_rss_mib": round(peak_rss_mib, 1),
            }
        )
    )


if __name__ == "__main__":
    # Per-request info logs would go to stdout and measure the terminal, not the protocol.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    trio.run(main)
