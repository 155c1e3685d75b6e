"""The control socket: how ``asnctl`` talks to a running ``asnd``.

Transport
    A Unix stream socket at ``control.socket`` (``/run/asnd/control.sock`` under systemd),
    mode 0600, in a directory created 0700 if missing. The server checks each connection's
    peer credentials (``SO_PEERCRED``): only the daemon's own uid and ``control.allowed_uids``
    are served; anyone else gets one ``forbidden`` error and is disconnected (and logged).
    On start the server refuses a path that holds anything but a stale socket of its own
    (a live daemon, another user's socket, a regular file...), saying what is there.

Framing
    Line-delimited JSON, UTF-8: one request object per line (``\\n``), one response line per
    request, in order. Several requests may share a connection. A request line may be at most
    65536 bytes (``MAX_MESSAGE_BYTES``, newline included); a longer one is answered
    ``too_large`` and the connection is closed. A final request without a newline is served
    when the client shuts down its sending side.

Request
    ``{"id": ID, "cmd": COMMAND, "args": {...}}``. ``id`` (optional; a string, an integer or
    null) is echoed in the response. ``args`` is optional when a command takes none.

Response
    ``{"id": ID, "ok": true, "result": ...}`` or
    ``{"id": ID, "ok": false, "error": {"code": CODE, "message": TEXT}}``.
    ``id`` is null when the request could not be read far enough to find it.

Commands (each is journaled as an ``OperatorCommand`` before the daemon acts on it)
    ``status``       ``{}``: the daemon's status (see below).
    ``swap``         ``{"slot": N, "file": PATH, "document": TEXT}``: make the strategy
                     ``document`` (the JSON text of the file at PATH, sent by asnctl because
                     the daemon may not be able to read the operator's files) slot N's
                     champion, live.
    ``kill``         ``{"slot": N | "all"}``: stop a slot (or everything: the global kill
                     switch), cancel its orders and flatten per ``risk.kill_all``.
    ``resume``       ``{"slot": N | "all"}``: let a killed slot (or the halted daemon) trade.
    ``challengers``  ``{}``: the challengers the pit crew holds and how they fare.

Error codes
    ``bad_json`` (not UTF-8 / not JSON), ``bad_request`` (not an object, bad ``id``/``cmd``,
    unknown fields), ``unknown_command`` (the message lists the known ones), ``bad_args``,
    ``no_such_slot``, ``too_large``, ``forbidden``, ``busy`` (every connection is inside a
    command), ``evicted`` (all 16 places were taken and this connection had waited longest for
    input: it made room for a newcomer), ``idle`` (silent 300 s), ``slow`` (a request line not
    complete 10 s after its first byte; closed), ``internal`` (a daemon bug; logged), and
    refusals the daemon raises as ``ControlError`` (e.g. ``invalid_strategy``, ``dead``,
    ``halted``). Numbers too large to represent and nesting deeper than the parser allows are
    ``bad_json``: every request line gets an answer.

Status result (what ``asnctl status`` renders; typed as ``asnd.control.status.StatusReport``;
the daemon may add fields)::

    {"daemon": {"venue": str, "state": str, "uptime_s": float},
     "slots": [{"slot": int, "symbol": str, "strategy_id": str, "state": str,
                "equity": str, "position": str, "pnl": str, "last_signal": float | null}],
     "feed": {"state": str, "last_message_age_ms": int | null},
     "books": [{"symbol": str, "state": str, "age_ms": int | null}],
     "journal": {"seq": int, "durable_seq": int, "lag": int}}

Example::

    $ echo '{"id":1,"cmd":"kill","args":{"slot":2}}' | socat - UNIX:/run/asnd/control.sock
    {"id": 1, "ok": true, "result": {"slot": 2, "state": "reducing"}}
"""

from asnd.control.protocol import (
    COMMANDS,
    MAX_MESSAGE_BYTES,
    ChallengersRequest,
    ControlError,
    KillRequest,
    ResumeRequest,
    StatusRequest,
    SwapRequest,
)
from asnd.control.server import ControlHandler, serve_control
from asnd.control.socket_file import ControlSocketError
from asnd.control.status import StatusReport

__all__ = [
    "COMMANDS",
    "MAX_MESSAGE_BYTES",
    "ChallengersRequest",
    "ControlError",
    "ControlHandler",
    "ControlSocketError",
    "KillRequest",
    "ResumeRequest",
    "StatusReport",
    "StatusRequest",
    "SwapRequest",
    "serve_control",
]
