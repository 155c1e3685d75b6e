"""``asnctl``: the operator's command line for a running ``asnd``, over its control socket.

    asnctl [--socket PATH | --config FILE] status [--json]
    asnctl swap SLOT FILE        make the strategy in FILE slot SLOT's champion, live
    asnctl kill SLOT|all         stop a slot (or everything) and flatten
    asnctl resume SLOT|all       let a killed slot (or a halted daemon) trade again
    asnctl challengers [--json]  what the pit crew is evaluating

``kill``, ``resume`` and ``swap`` print the daemon's one-line answer ("slot 3 (ETHUSDT)
killed: operator; flattening, then halted"); ``--json`` (any command) prints the raw result.
``status`` shows, for the daemon and each slot that does not trade, why, since when and what
clears it.

The socket is ``--socket``, else ``$ASN_CONTROL_SOCKET``, else ``control.socket`` of
``--config``, else ``/run/asnd/control.sock``. Exit status: 0 done, 1 the daemon refused or
cannot be reached (the reason on stderr, never a traceback), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import stat
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import partial
from pathlib import Path
from typing import Any, Final, TextIO

import msgspec

from asnd import __version__
from asnd.config_decode import ConfigError, decode, resolve_path
from asnd.control.protocol import MAX_MESSAGE_BYTES, encode_request
from asnd.control.socket_file import describe_path, user_name
from journal.texttable import render_table

__all__ = [
    "ControlClientError",
    "call",
    "check_socket",
    "main",
    "render_challengers",
    "render_records",
    "render_status",
]

DEFAULT_SOCKET: Final = Path("/run/asnd/control.sock")
SOCKET_ENV: Final = "ASN_CONTROL_SOCKET"
#: Responses are small (a status is a few KiB); the cap only stops a runaway peer.
MAX_RESPONSE_BYTES: Final = 16 << 20


class ControlClientError(Exception):
    """The daemon could not be asked or said no; the message is for the operator."""


def check_socket(path: Path, uid: int) -> None:
    """Say plainly why ``path`` is not a control socket ``uid`` can use, before connecting."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise ControlClientError(
            f"asnd is not running: no control socket at {path} "
            "(use --socket or --config if it listens elsewhere)"
        ) from None
    except PermissionError:
        raise ControlClientError(
            f"cannot look at {path}: permission denied on its folder; run asnctl as the user "
            "asnd runs as"
        ) from None
    if not stat.S_ISSOCK(info.st_mode):
        raise ControlClientError(f"{path} is {describe_path(path)}, not asnd's control socket")
    if uid not in (0, info.st_uid):  # root may use any socket; the server still checks
        raise ControlClientError(
            f"the control socket {path} belongs to {user_name(info.st_uid)}, not to you "
            f"({user_name(uid)}); run asnctl as that user, e.g. "
            f"sudo -u {_login(info.st_uid)} asnctl ..."
        )


def _login(uid: int) -> str:
    text = user_name(uid)
    return text[text.index("(") + 1 : -1] if "(" in text else f"'#{uid}'"


def call(
    path: Path,
    command: str,
    args: Mapping[str, object] | None = None,
    *,
    timeout_s: float = 30.0,
    uid: int | None = None,
) -> Any:
    """Send one request and return its result; raise ``ControlClientError`` otherwise."""
    check_socket(path, os.getuid() if uid is None else uid)
    request = encode_request(1, command, args or {})
    if len(request) > MAX_MESSAGE_BYTES:
        raise ControlClientError(
            f"request is {len(request)} bytes; the control socket takes at most "
            f"{MAX_MESSAGE_BYTES} (put large strategies in the challengers directory instead)"
        )
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout_s)
        try:
            conn.connect(str(path))
        except ConnectionRefusedError:
            raise ControlClientError(
                f"asnd is not running: nothing listens on {path} (a stale socket)"
            ) from None
        except PermissionError:
            raise ControlClientError(
                f"permission denied connecting to {path}; run asnctl as the user asnd runs as"
            ) from None
        except OSError as exc:
            raise ControlClientError(f"cannot connect to {path}: {exc.strerror}") from None
        try:
            conn.sendall(request)
            line = _read_line(conn)
        except TimeoutError:
            raise ControlClientError(f"asnd did not answer within {timeout_s:g} s") from None
        except OSError as exc:
            # A refused client may see its write fail; the reply, if any, was already read.
            raise ControlClientError(f"connection to asnd failed: {exc.strerror}") from None
    return _result(line)


def _read_line(conn: socket.socket) -> bytes:
    buffer = bytearray()
    while b"\n" not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            if buffer:
                break
            raise ControlClientError("asnd closed the connection without answering")
        buffer += chunk
        if len(buffer) > MAX_RESPONSE_BYTES:
            raise ControlClientError("asnd's answer is too large")
    return bytes(buffer).split(b"\n", 1)[0]


def _result(line: bytes) -> Any:
    try:
        reply = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ControlClientError("asnd answered something that is not JSON") from None
    if not isinstance(reply, dict) or "ok" not in reply:
        raise ControlClientError("asnd answered with an unexpected message")
    if reply["ok"] is True:
        return reply.get("result")
    error = reply.get("error") or {}
    raise ControlClientError(f"{error.get('code', 'error')}: {error.get('message', '')}")


# ------------------------------------------------------------------------------- rendering


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:+.3f}"
    return str(value)


def table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """``rows`` under ``headers`` through the one table renderer (journal.texttable: numeric
    columns right-aligned, plain text off a terminal), floats signed to 3 places."""
    return render_table(headers, [[_cell(v) for v in row] for row in rows])


_SLOT_COLUMNS: Final = (
    ("slot", "SLOT"),
    ("symbol", "SYMBOL"),
    ("strategy_id", "STRATEGY"),
    ("state", "STATE"),
    ("equity", "EQUITY"),
    ("position", "POSITION"),
    ("pnl", "PNL"),
    ("last_signal", "SIGNAL"),
)


def _row(
    record: Mapping[str, Any],
    keys: Sequence[str],
    formats: Mapping[str, Callable[[object], object]],
) -> list[object]:
    """``record``'s values at ``keys``, each through its format in ``formats`` if it has one."""
    return [formats[k](record.get(k)) if k in formats else record.get(k) for k in keys]


def _cents(value: object, *, signed: bool = False) -> object:
    """A money amount (the daemon sends exact decimal strings, to 1e-8 USDT) rounded to
    cents for the table; ``--json`` keeps the exact value. Anything else is shown as is."""
    if value is None:
        return None
    try:
        amount = Decimal(str(value)).quantize(_CENT, rounding=ROUND_HALF_EVEN)
    except InvalidOperation:
        return value
    if amount.is_zero():
        amount = abs(amount)  # never "-0.00"
        return f"{amount}"
    return f"{amount:+}" if signed else f"{amount}"


_CENT: Final = Decimal("0.01")
_MONEY: Final[Mapping[str, Callable[[object], object]]] = {
    "equity": _cents,
    "pnl": partial(_cents, signed=True),
}


def render_status(status: Mapping[str, Any]) -> str:
    """The status dict (see ``asnd.control``) as the table ``asnctl status`` prints."""
    out: list[str] = []
    daemon = status.get("daemon") or {}
    halted_for_all = ""
    if daemon:
        head = f"asnd: {daemon.get('state', '?')} on {daemon.get('venue', '?')}"
        if daemon.get("uptime_s") is not None:
            head += f", up {float(daemon['uptime_s']):.0f} s"
        out.append(head)
        if daemon.get("reason"):
            halted_for_all = f"trading halted: {daemon['reason']}"
            out += _halt_lines("halted", daemon)
        out.append("")
    slots = status.get("slots") or []
    keys = [key for key, _ in _SLOT_COLUMNS]
    rows = [_row(slot, keys, _MONEY) for slot in slots]
    out.append(table(rows, [header for _, header in _SLOT_COLUMNS]))
    # The daemon's halt is said once above, not again for every slot it stops.
    stopped = [s for s in slots if s.get("reason") and s.get("reason") != halted_for_all]
    if stopped:
        out.append("")
        for slot in stopped:
            name = f"slot {slot.get('slot', '?')} ({slot.get('symbol', '?')})"
            out += _halt_lines(f"{name} {slot.get('state', '?')}", slot)
    feed = status.get("feed")
    if feed:
        age = feed.get("last_message_age_ms")
        tail = f" (last message {age} ms ago)" if age is not None else ""
        out += ["", f"feed: {feed.get('state', '?')}{tail}"]
    books = status.get("books") or []
    if books:
        out.append(
            "books: "
            + ", ".join(
                f"{b.get('symbol', '?')} {b.get('state', '?')}"
                + (f" {b['age_ms']} ms" if b.get("age_ms") is not None else "")
                for b in books
            )
        )
    journal = status.get("journal")
    if journal:
        out.append(
            f"journal: seq {journal.get('seq', '?')}, durable {journal.get('durable_seq', '?')}"
            f", lag {journal.get('lag', '?')}"
        )
    return "\n".join(out)


def _halt_lines(what: str, record: Mapping[str, Any]) -> list[str]:
    """``what`` since when: why, and what clears it, as two lines."""
    since = record.get("since")
    when = f" since {str(since).replace('T', ' ').replace('Z', ' UTC')}" if since else ""
    lines = [f"{what}{when}: {record.get('reason', '')}"]
    if record.get("clears"):
        lines.append(f"  clears: {record['clears']}")
    return lines


def _duration(value: object) -> object:
    """Seconds, unsigned (the table signs other floats: they are differences)."""
    return f"{value:.3f}" if isinstance(value, float) else value


#: Cell formats of ``asnctl challengers`` by key; other keys as ``render_records`` shows them.
_CHALLENGER_CELLS: Final[Mapping[str, Callable[[object], object]]] = {
    "challenger_ttt_s": _duration,
    "champion_ttt_s": _duration,
}


def render_records(
    records: object, cells: Mapping[str, Callable[[object], object]] | None = None
) -> str:
    """A list of flat dicts as a table (a key in ``cells`` has its values formatted by it);
    anything else as indented JSON."""
    if isinstance(records, list) and records and all(isinstance(r, dict) for r in records):
        headers = list(dict.fromkeys(key for record in records for key in record))
        rows = [_row(record, headers, cells or {}) for record in records]
        return table(rows, [h.upper() for h in headers])
    if records == []:
        return "(none)"
    return json.dumps(records, indent=2, ensure_ascii=False)


def render_challengers(records: object) -> str:
    """``asnctl challengers``: ``render_records`` with each side's time-to-target as plain
    seconds since the standing began ("-" until reached)."""
    return render_records(records, _CHALLENGER_CELLS)


# ------------------------------------------------------------------------------------ CLI


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 < value < 86_400:
        raise argparse.ArgumentTypeError(f"expected 0 < seconds < 86400, got {text}")
    return value


def _slot_or_all(text: str) -> int | str:
    if text == "all":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a slot number or "all", got {text!r}') from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"slot numbers start at 0, got {value}")
    return value


def _slot(text: str) -> int:
    value = _slot_or_all(text)
    if isinstance(value, str):
        raise argparse.ArgumentTypeError("swap takes one slot number, not all")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asnctl", description="Control a running asnd.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--socket", type=Path, help=f"control socket (default {DEFAULT_SOCKET})")
    where.add_argument("--config", type=Path, help="take the socket path from this asnd config")
    parser.add_argument("--timeout", type=_seconds, default=30.0, help="seconds to wait (30)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    status = commands.add_parser("status", help="slots, feed, books and journal")
    status.add_argument("--json", action="store_true", help="print the raw JSON")
    swap = commands.add_parser("swap", help="make a strategy file a slot's champion, live")
    swap.add_argument("slot", type=_slot, metavar="SLOT")
    swap.add_argument("file", type=Path, metavar="FILE")
    swap.add_argument("--json", action="store_true", help="print the raw JSON")
    kill = commands.add_parser("kill", help="stop a slot (or all) and flatten")
    kill.add_argument("slot", type=_slot_or_all, metavar="SLOT|all")
    kill.add_argument("--json", action="store_true", help="print the raw JSON")
    resume = commands.add_parser("resume", help="let a killed slot (or all) trade again")
    resume.add_argument("slot", type=_slot_or_all, metavar="SLOT|all")
    resume.add_argument("--json", action="store_true", help="print the raw JSON")
    challengers = commands.add_parser("challengers", help="challengers being evaluated")
    challengers.add_argument("--json", action="store_true", help="print the raw JSON")
    return parser


def socket_path(args: argparse.Namespace, env: Mapping[str, str]) -> Path:
    if args.socket is not None:
        return Path(args.socket)
    if env.get(SOCKET_ENV):
        return Path(env[SOCKET_ENV])
    if args.config is not None:
        return _socket_from_config(Path(args.config))
    return DEFAULT_SOCKET


def _socket_from_config(path: Path) -> Path:
    """Only ``control.socket`` is read: the operator need not be able to read the rest."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ControlClientError(f"cannot read {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ControlClientError(f"{path}: not a valid TOML config: {exc}") from None
    socket = decode(data, _SocketOnly).control.socket
    return resolve_path("control.socket", socket, Path(os.path.abspath(path)).parent)


class _ControlOnly(msgspec.Struct, frozen=True):
    socket: str = str(DEFAULT_SOCKET)


class _SocketOnly(msgspec.Struct, frozen=True):
    """The one key ``asnctl`` reads; the rest of the file is the daemon's to check."""

    control: _ControlOnly = msgspec.field(default_factory=_ControlOnly)


def _request(args: argparse.Namespace) -> tuple[str, dict[str, object]]:
    if args.command == "swap":
        source = Path(args.file).expanduser().resolve()
        try:
            document = source.read_text(encoding="utf-8")
        except OSError as exc:
            raise ControlClientError(
                f"cannot read strategy file {source}: {exc.strerror}"
            ) from None
        except UnicodeDecodeError:
            raise ControlClientError(f"strategy file {source} is not UTF-8 text") from None
        return "swap", {"slot": args.slot, "file": str(source), "document": document}
    if args.command in {"kill", "resume"}:
        return args.command, {"slot": args.slot}
    return args.command, {}


def run(argv: Sequence[str], env: Mapping[str, str], stdout: TextIO) -> int:
    """``main`` with its surroundings passed in, for tests."""
    args = _parser().parse_args(argv)
    path = socket_path(args, env)
    command, request_args = _request(args)
    result = call(path, command, request_args, timeout_s=args.timeout)
    if getattr(args, "json", False):
        print(json.dumps(result, indent=2, ensure_ascii=False), file=stdout)
    elif command == "status" and isinstance(result, dict):
        print(render_status(result), file=stdout)
    elif command == "challengers":
        print(render_challengers(result), file=stdout)
    elif isinstance(result, dict) and isinstance(result.get("message"), str):
        print(result["message"], file=stdout)
    else:
        print(render_records(result), file=stdout)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        code = run(sys.argv[1:] if argv is None else argv, os.environ, sys.stdout)
        sys.stdout.flush()  # inside the try: a closed pipe surfaces here, not at exit
        return code
    except (ControlClientError, ConfigError) as exc:
        print(f"asnctl: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`asnctl status | head -1`): not an error worth a traceback.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
