"""The control socket server: a trio service that serves ``asnctl`` on a Unix socket.

Start it with ``await nursery.start(serve_control, path, handler, ...)``: it returns once the
socket is listening (or raises ``ControlSocketError`` if it cannot be), then serves until
cancelled and removes its socket on the way out. A bad client (malformed, oversized, foreign,
silent, slow) gets an error and, where framing is lost, a closed connection; the server itself
keeps running. Only a failure of the listening socket ends it.

No set of clients can lock the operator out: a line must arrive whole within
``line_timeout_s`` of its first byte, and when all ``max_connections`` are taken a new client
takes the place of the one that has waited longest for input (answered ``evicted``); only when
every connection is inside a command is a new one answered ``busy``.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, Protocol

import structlog
import trio

from asnd.control.protocol import (
    MAX_MESSAGE_BYTES,
    ChallengersRequest,
    ControlError,
    KillRequest,
    ParsedRequest,
    RequestError,
    ResumeRequest,
    StatusRequest,
    SwapRequest,
    encode_error,
    encode_result,
    parse_request,
)
from asnd.control.socket_file import ControlSocketError, claim_socket_path, user_name
from journal.events import OperatorCommand

__all__ = ["ControlHandler", "serve_control"]

_log = structlog.get_logger("asnd.control")

#: ``struct ucred`` from ``SO_PEERCRED``: pid, uid, gid.
_UCRED = struct.Struct("3i")

#: Pending connects the kernel queues while we accept: a burst of clients (monitoring, a
#: script in a loop) must wait, not fail with EAGAIN. The kernel caps it at net.core.somaxconn.
_BACKLOG = 4096


class ControlHandler(Protocol):
    """What the daemon implements to answer operators. One method per command.

    Each method receives the ``OperatorCommand`` event for the request (``seq=0``: the daemon
    journals it, which stamps the seq, *before* acting) and the validated, typed request. It
    returns a JSON-able result (dicts, lists, str, int, float, bool, None; ``Decimal``, ``Path``,
    dataclasses and msgspec structs are converted) or raises ``ControlError`` for a refusal the
    operator should read. Any other exception becomes an ``internal`` error and is logged.
    Requests on one connection are handled in order; different connections run concurrently.
    """

    async def status(self, command: OperatorCommand, request: StatusRequest) -> object: ...

    async def swap(self, command: OperatorCommand, request: SwapRequest) -> object: ...

    async def kill(self, command: OperatorCommand, request: KillRequest) -> object: ...

    async def resume(self, command: OperatorCommand, request: ResumeRequest) -> object: ...

    async def challengers(
        self, command: OperatorCommand, request: ChallengersRequest
    ) -> object: ...


def peer_credentials(sock: trio.socket.SocketType) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a connected Unix socket."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, uid, gid = _UCRED.unpack(raw)
    return pid, uid, gid


async def serve_control(
    path: Path,
    handler: ControlHandler,
    *,
    slot_count: int,
    allowed_uids: Iterable[int] = (),
    owner_uid: int | None = None,
    max_connections: int = 16,
    idle_timeout_s: float = 300.0,
    line_timeout_s: float = 10.0,
    clock_ns: Callable[[], int] = time.time_ns,
    task_status: trio.TaskStatus[Path] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Serve the control protocol on ``path`` until cancelled.

    ``owner_uid`` (default: our own uid) and ``allowed_uids`` may connect; anyone else is
    answered ``forbidden``, logged and disconnected. ``slot_count`` bounds slot arguments.
    ``clock_ns`` stamps ``OperatorCommand.ts_local_ns``. At most ``max_connections`` clients
    are served at once; a newcomer evicts the one longest waiting for input, or is answered
    ``busy`` when all are inside a command. A client silent for ``idle_timeout_s`` is
    disconnected (``idle``), so stuck clients cannot pin file descriptors, and so is one
    whose request line is not complete ``line_timeout_s`` after it began (``slow``).
    """
    uid = os.getuid() if owner_uid is None else owner_uid
    allowed = frozenset({uid, *allowed_uids})
    note = await claim_socket_path(path, uid)
    if note:
        _log.warning("control.stale_socket", path=str(path), action=note)
    listener_socket = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    identity: tuple[int, int] | None = None
    try:
        try:
            await listener_socket.bind(str(path))
            identity = _identity(path)
            # Owner-only before listen(): until then a connect() is refused, so the mode
            # bind() gave the file (from the umask) is never usable by anyone.
            os.chmod(path, 0o600)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ControlSocketError(f"cannot create the control socket {path}: {reason}") from None
        listener_socket.listen(_BACKLOG)
        listener = trio.SocketListener(listener_socket)
        server = _Server(
            handler,
            slot_count=slot_count,
            owner_uid=uid,
            allowed=allowed,
            max_connections=max_connections,
            idle_timeout_s=idle_timeout_s,
            line_timeout_s=line_timeout_s,
            clock_ns=clock_ns,
        )
        _log.info("control.listening", path=str(path))
        task_status.started(path)
        async with trio.open_nursery() as nursery:
            while True:
                stream = await listener.accept()
                nursery.start_soon(server.connection, stream)
    finally:
        listener_socket.close()
        _remove_if_ours(path, identity)


def _identity(path: Path) -> tuple[int, int]:
    """(device, inode) of the socket we bound, to recognise it at shutdown."""
    info = os.stat(path)
    return info.st_dev, info.st_ino


def _remove_if_ours(path: Path, identity: tuple[int, int] | None) -> None:
    """Unlink the socket unless someone replaced it (never delete another's file)."""
    if identity is None:
        return
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if (info.st_dev, info.st_ino) == identity:
        path.unlink(missing_ok=True)


#: How long, and how much, a refused client's unread input is drained before closing.
_LINGER_S = 1.0
_LINGER_BYTES = 1 << 20


async def _linger(stream: trio.SocketStream) -> None:
    """Close our side, then drain what the client already sent, for a bounded time.

    Closing a socket with unread input makes the kernel send a reset, and the client would
    see "connection reset" instead of reading our error reply.
    """
    await stream.send_eof()
    drained = 0
    with trio.move_on_after(_LINGER_S):
        while drained < _LINGER_BYTES:
            chunk = await stream.receive_some(65536)
            if not chunk:
                return
            drained += len(chunk)


@dataclass(eq=False)
class _Client:
    """One admitted connection, as the server sees it when choosing whom to evict."""

    last_active: float
    #: Set while the connection waits for input: cancelling it evicts the client.
    waiting: trio.CancelScope | None = None
    evicted: bool = False


@dataclass
class _Clients:
    """The admitted connections, bounded by ``limit``, always with room for a newcomer."""

    limit: int
    admitted: set[_Client] = field(default_factory=set)

    def admit(self) -> _Client | None:
        """A place for a new client, evicting the longest-waiting one if all are taken;
        None when every admitted client is inside a command."""
        if len(self.admitted) >= self.limit:
            waiting = [c for c in self.admitted if c.waiting is not None]
            if not waiting:
                return None
            victim = min(waiting, key=lambda c: c.last_active)
            victim.evicted = True
            self.admitted.discard(victim)
            if victim.waiting is not None:
                victim.waiting.cancel()
        client = _Client(last_active=trio.current_time())
        self.admitted.add(client)
        return client

    def leave(self, client: _Client) -> None:
        self.admitted.discard(client)


class _Server:
    def __init__(
        self,
        handler: ControlHandler,
        *,
        slot_count: int,
        owner_uid: int,
        allowed: frozenset[int],
        max_connections: int,
        idle_timeout_s: float,
        line_timeout_s: float,
        clock_ns: Callable[[], int],
    ) -> None:
        self._handler = handler
        self._slot_count = slot_count
        self._owner_uid = owner_uid
        self._allowed = allowed
        self._clients = _Clients(max_connections)
        self._idle_timeout_s = idle_timeout_s
        self._line_timeout_s = line_timeout_s
        self._clock_ns = clock_ns

    async def connection(self, stream: trio.SocketStream) -> None:
        try:
            async with stream:
                await self._serve(stream)
        except trio.BrokenResourceError:
            _log.info("control.client_gone")
        except Exception:
            # One connection's failure must not take the control socket down for everyone.
            _log.exception("control.connection_failed")

    async def _serve(self, stream: trio.SocketStream) -> None:
        pid, uid, _ = peer_credentials(stream.socket)
        if uid not in self._allowed:
            _log.warning("control.refused", peer_uid=uid, peer_pid=pid)
            await stream.send_all(
                encode_error(
                    None,
                    "forbidden",
                    f"{user_name(uid)} may not use this control socket; it belongs to "
                    f"{user_name(self._owner_uid)}",
                )
            )
            await _linger(stream)
            return
        client = self._clients.admit()
        if client is None:
            _log.warning("control.busy", peer_uid=uid, peer_pid=pid)
            await stream.send_all(
                encode_error(None, "busy", "every control connection is inside a command")
            )
            await _linger(stream)
            return
        try:
            await self._lines(stream, client, uid, pid)
        finally:
            self._clients.leave(client)

    async def _lines(self, stream: trio.SocketStream, client: _Client, uid: int, pid: int) -> None:
        buffer = bytearray()
        line_started = 0.0
        while True:
            newline = buffer.find(b"\n")
            if newline < 0:
                if len(buffer) >= MAX_MESSAGE_BYTES:
                    await self._too_large(stream, uid, pid)
                    await _linger(stream)
                    return
                if buffer:
                    deadline = line_started + self._line_timeout_s
                else:
                    deadline = trio.current_time() + self._idle_timeout_s
                with trio.CancelScope(deadline=deadline) as waiting:
                    client.waiting = waiting
                    try:
                        chunk = await stream.receive_some(MAX_MESSAGE_BYTES)
                    finally:
                        client.waiting = None
                # Checked even when the read won the race: the place is already given away.
                if client.evicted:
                    _log.info("control.evicted", peer_uid=uid, peer_pid=pid)
                    await stream.send_all(
                        encode_error(
                            None,
                            "evicted",
                            "closed to make room for another client; reconnect when needed",
                        )
                    )
                    await _linger(stream)
                    return
                if waiting.cancelled_caught:
                    await self._timed_out(stream, bool(buffer), uid, pid)
                    return
                if not chunk:
                    # A last request without a newline is still served; then the client is gone.
                    if buffer.strip():
                        await self._request(stream, bytes(buffer), uid)
                    return
                client.last_active = trio.current_time()
                if not buffer:
                    line_started = client.last_active
                buffer += chunk
                continue
            if newline + 1 > MAX_MESSAGE_BYTES:
                await self._too_large(stream, uid, pid)
                await _linger(stream)
                return
            line = bytes(buffer[:newline])
            del buffer[: newline + 1]
            # The next line's clock starts with its first byte, already here or not.
            line_started = trio.current_time()
            if line.strip():
                await self._request(stream, line, uid)
                client.last_active = trio.current_time()
                line_started = client.last_active

    async def _timed_out(
        self, stream: trio.SocketStream, mid_line: bool, uid: int, pid: int
    ) -> None:
        if mid_line:
            _log.info("control.slow", peer_uid=uid, peer_pid=pid, limit_s=self._line_timeout_s)
            message = (
                f"request line not complete within {self._line_timeout_s:g} s; closing connection"
            )
            await stream.send_all(encode_error(None, "slow", message))
            await _linger(stream)
            return
        await stream.send_all(encode_error(None, "idle", "connection idle too long"))

    async def _too_large(self, stream: trio.SocketStream, uid: int, pid: int) -> None:
        _log.warning("control.too_large", peer_uid=uid, peer_pid=pid, limit=MAX_MESSAGE_BYTES)
        await stream.send_all(
            encode_error(
                None, "too_large", f"request exceeds {MAX_MESSAGE_BYTES} bytes; closing connection"
            )
        )

    async def _request(self, stream: trio.SocketStream, line: bytes, uid: int) -> None:
        try:
            parsed = parse_request(line, slot_count=self._slot_count)
        except RequestError as exc:
            _log.info("control.bad_request", code=exc.code, message=exc.message, peer_uid=uid)
            await stream.send_all(encode_error(exc.request_id, exc.code, exc.message))
            return
        await stream.send_all(await self._dispatch(parsed, uid))

    async def _dispatch(self, parsed: ParsedRequest, uid: int) -> bytes:
        command = OperatorCommand(
            seq=0,
            ts_local_ns=self._clock_ns(),
            command=parsed.command,
            args=parsed.journal_args(),
            peer_uid=uid,
        )
        # Monitoring polls status; log it quietly so operator actions stand out.
        log = _log.debug if parsed.command == "status" else _log.info
        log("control.command", command=parsed.command, args=command.args, peer_uid=uid)
        try:
            result = await self._call(command, parsed)
        except ControlError as exc:
            return encode_error(parsed.id, exc.code, exc.message)
        except Exception as exc:
            # The daemon must outlive a bug in one command; the operator sees what failed.
            _log.exception("control.handler_failed", command=parsed.command)
            return encode_error(parsed.id, "internal", f"{type(exc).__name__}: {exc}")
        try:
            return encode_result(parsed.id, result)
        except (TypeError, ValueError) as exc:
            _log.error("control.unencodable_result", command=parsed.command, error=str(exc))
            return encode_error(parsed.id, "internal", f"result is not JSON: {exc}")

    async def _call(self, command: OperatorCommand, parsed: ParsedRequest) -> Any:
        request = parsed.request
        handler = self._handler
        if isinstance(request, StatusRequest):
            return await handler.status(command, request)
        if isinstance(request, SwapRequest):
            return await handler.swap(command, request)
        if isinstance(request, KillRequest):
            return await handler.kill(command, request)
        if isinstance(request, ResumeRequest):
            return await handler.resume(command, request)
        return await handler.challengers(command, request)
