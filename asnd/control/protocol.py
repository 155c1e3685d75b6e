"""The control protocol's messages: parsing requests, validating arguments, encoding replies.

Pure (no sockets, no clocks): the server feeds it lines and sends back what it returns, and
``asnctl`` uses the same encoders. The wire format is documented in ``asnd.control``.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePath
from typing import Any, Final

import msgspec

__all__ = [
    "COMMANDS",
    "MAX_MESSAGE_BYTES",
    "ChallengersRequest",
    "ControlError",
    "KillRequest",
    "ParsedRequest",
    "Request",
    "RequestError",
    "ResumeRequest",
    "StatusRequest",
    "SwapRequest",
    "encode_error",
    "encode_request",
    "encode_result",
    "parse_request",
]

#: Largest request line, newline included. Larger ones get ``too_large`` and the connection
#: is closed, because the rest of the stream can no longer be framed safely.
MAX_MESSAGE_BYTES: Final = 64 * 1024

#: The commands and the arguments each takes, as shown in ``unknown_command`` errors.
COMMANDS: Final = {
    "status": "{}",
    "swap": '{"slot": N, "file": PATH, "document": STRATEGY_JSON_TEXT}',
    "kill": '{"slot": N | "all"}',
    "resume": '{"slot": N | "all"}',
    "challengers": "{}",
}

RequestId = str | int | None


class ControlError(Exception):
    """A request that cannot be served; becomes ``{"ok": false, "error": {code, message}}``.

    Handlers raise it for refusals the operator should read (``no_such_slot``, ``dead``,
    ``invalid_strategy``...). ``code`` is a stable snake_case word; ``message`` a sentence.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class StatusRequest:
    pass


@dataclass(frozen=True, slots=True)
class SwapRequest:
    """Make the strategy in ``document`` (read from ``source`` by asnctl) champion of ``slot``.

    asnctl sends the file's text rather than only its path: the daemon runs sandboxed and often
    as another user, so it may not be able to open the operator's file.
    """

    slot: int
    source: str
    document: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.document.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class KillRequest:
    slot: int | None  # None: every slot (global kill switch)


@dataclass(frozen=True, slots=True)
class ResumeRequest:
    slot: int | None  # None: lift the global halt


@dataclass(frozen=True, slots=True)
class ChallengersRequest:
    pass


Request = StatusRequest | SwapRequest | KillRequest | ResumeRequest | ChallengersRequest


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    id: RequestId
    command: str
    request: Request

    def journal_args(self) -> list[str]:
        """The arguments as ``key=value`` strings for ``OperatorCommand.args``.

        A swap's document is not repeated here: the daemon journals it in ``StrategyLoaded``;
        its digest ties the two together.
        """
        request = self.request
        if isinstance(request, SwapRequest):
            return [f"slot={request.slot}", f"file={request.source}", f"sha256={request.digest}"]
        if isinstance(request, KillRequest | ResumeRequest):
            return [f"slot={'all' if request.slot is None else request.slot}"]
        return []


def _known() -> str:
    return ", ".join(COMMANDS)


def parse_request(line: bytes, *, slot_count: int) -> ParsedRequest:
    """Parse one request line. Raises ``ControlError`` (with the request id when known)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError(None, "bad_json", "request is not UTF-8 text") from None
    try:
        data = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        # Also numbers out of range ("1" x 5000, 1e999): msgspec's ValidationError.
        raise RequestError(None, "bad_json", f"request is not valid JSON: {exc}") from None
    except RecursionError:
        # msgspec bounds nesting by the interpreter's recursion limit and raises this cleanly.
        raise RequestError(
            None, "bad_json", "request is not valid JSON: nested too deeply"
        ) from None
    if not isinstance(data, dict):
        raise RequestError(None, "bad_request", "request must be a JSON object")
    request_id = data.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, str | int | None):
        raise RequestError(None, "bad_request", '"id" must be a string, an integer or null')
    unknown = sorted(set(data) - {"id", "cmd", "args"})
    if unknown:
        raise RequestError(request_id, "bad_request", f"unknown request fields: {unknown}")
    command = data.get("cmd")
    if not isinstance(command, str):
        raise RequestError(request_id, "bad_request", f'"cmd" must be one of: {_known()}')
    if command not in COMMANDS:
        raise RequestError(
            request_id,
            "unknown_command",
            f"unknown command {_shown(command)}; known commands: {_known()}",
        )
    args = data.get("args", {})
    if not isinstance(args, dict):
        raise RequestError(request_id, "bad_args", f'"args" of {command} must be an object')
    try:
        request = _arguments(command, args, slot_count)
    except ControlError as exc:
        raise RequestError(request_id, exc.code, exc.message) from None
    return ParsedRequest(id=request_id, command=command, request=request)


class RequestError(ControlError):
    """A ``ControlError`` raised while parsing, carrying the request id if it was readable."""

    def __init__(self, request_id: RequestId, code: str, message: str) -> None:
        super().__init__(code, message)
        self.request_id = request_id


def _arguments(command: str, args: Mapping[str, Any], slot_count: int) -> Request:
    expected = {
        "status": set(),
        "challengers": set(),
        "swap": {"slot", "file", "document"},
        "kill": {"slot"},
        "resume": {"slot"},
    }[command]
    extra = sorted(set(args) - expected)
    missing = sorted(expected - set(args))
    if extra or missing:
        problems = []
        if missing:
            problems.append(f"missing {missing}")
        if extra:
            problems.append(f"unexpected {extra}")
        raise ControlError(
            "bad_args", f"{command}: {', '.join(problems)}; expected args {COMMANDS[command]}"
        )
    if command == "status":
        return StatusRequest()
    if command == "challengers":
        return ChallengersRequest()
    if command == "swap":
        slot = _slot_number(command, args["slot"], slot_count, what="a slot number")
        source, document = args["file"], args["document"]
        if not isinstance(source, str) or not source:
            raise ControlError("bad_args", 'swap: "file" must be a non-empty string')
        if not isinstance(document, str) or not document:
            raise ControlError("bad_args", 'swap: "document" must be the strategy file\'s text')
        return SwapRequest(slot=slot, source=source, document=document)
    slot_or_all = _slot(command, args["slot"], slot_count, allow_all=True)
    return KillRequest(slot_or_all) if command == "kill" else ResumeRequest(slot_or_all)


def _slot(command: str, value: object, slot_count: int, *, allow_all: bool) -> int | None:
    if allow_all and value == "all":
        return None
    return _slot_number(command, value, slot_count, what='a slot number or "all"')


def _slot_number(command: str, value: object, slot_count: int, *, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ControlError("bad_args", f'{command}: "slot" must be {what}, got {_shown(value)}')
    if not 0 <= value < slot_count:
        raise ControlError(
            "no_such_slot", f"{command}: no slot {value}; slots are 0 to {slot_count - 1}"
        )
    return value


#: How much of a client's bad value an error message repeats.
_SHOWN_CHARS: Final = 40


def _shown(value: object) -> str:
    """A client's value for an error message: scalars as JSON, cut short; containers by kind.

    Never re-encodes a container: one nested near the parser's depth limit would overflow.
    """
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    text = json.dumps(value)
    return text if len(text) <= _SHOWN_CHARS else f"{text[:_SHOWN_CHARS]}... ({len(text)} chars)"


def _default(value: object) -> object:
    """JSON for the types a status naturally holds (exact decimals stay exact, as strings)."""
    if isinstance(value, Decimal | PurePath):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, msgspec.Struct):
        return msgspec.to_builtins(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _line(message: Mapping[str, object]) -> bytes:
    text = json.dumps(message, default=_default, allow_nan=False, ensure_ascii=False)
    return text.encode("utf-8") + b"\n"


def encode_result(request_id: RequestId, result: object) -> bytes:
    """``{"id", "ok": true, "result"}`` as one line. Raises ``ValueError``/``TypeError`` when
    ``result`` is not JSON (e.g. NaN): the server turns that into an ``internal`` error."""
    return _line({"id": request_id, "ok": True, "result": result})


def encode_error(request_id: RequestId, code: str, message: str) -> bytes:
    return _line({"id": request_id, "ok": False, "error": {"code": code, "message": message}})


def encode_request(request_id: RequestId, command: str, args: Mapping[str, object]) -> bytes:
    return _line({"id": request_id, "cmd": command, "args": dict(args)})
