"""Logging for the daemon and its tools: structlog, JSON lines or readable console text.

(Named ``log``, not ``logging``: a module called ``logging`` inside the package would shadow
the standard library's whenever a file here is run by path.)

``configure_logging(format, level)`` is called once at start with the config's ``[log]``:

- ``"json"``: one JSON object per line (``ts``, ``level``, ``logger``, ``event`` and the
  event's fields), for journald and log shippers.
- ``"console"``: aligned, colour-free text for a person at a terminal.
- ``"auto"``: JSON under systemd (``$JOURNAL_STREAM`` is set) or when the output is not a
  terminal; console text on a terminal.

Records from the standard ``logging`` module (httpx, trio-websocket) go through the same
processors and renderer, so a log is uniformly one format. httpx writes one INFO line per
request (several per order on Bybit: a flood at ``info``), so its loggers start at WARNING
unless the level is ``debug``.

Secrets never reach the output: ``RedactSecrets`` replaces the value of any field whose name
looks like a credential (``api_key``, ``secret``, ``X-BAPI-SIGN``, ``token``...), at any depth,
``key=value`` pairs of that kind inside strings (query strings), and every literal value
registered with ``register_secret`` (the loaded API key and secret) wherever it appears,
tracebacks included.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Final, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = ["REDACTED", "RedactSecrets", "configure_logging", "register_secret", "resolve_format"]

REDACTED: Final = "[REDACTED]"

LogFormat = Literal["auto", "json", "console"]

_LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}

#: Field names that hold credentials. Matched as whole words inside the name so that
#: ``api_secret`` and ``X-BAPI-SIGN`` are caught while ``signal`` and ``design`` are not.
_SECRET_NAME: Final = re.compile(
    r"(?:^|[_\-.\s])(?:secret|api[_-]?key|apikey|password|passwd|passphrase|token|"
    r"signature|sign|authorization|credentials?|cookie)(?:$|[_\-.\s])",
    re.IGNORECASE,
)
#: ``name=value`` / ``"name": "value"`` inside free text, for the same names.
_SECRET_PAIR: Final = re.compile(
    r"(?P<name>\b[\w\-]*(?:secret|api[_-]?key|apikey|password|passphrase|token|signature|sign)"
    r"[\w\-]*\b)(?P<sep>\"?\s*[=:]\s*\"?)(?P<value>[^&\s\"',;]+)",
    re.IGNORECASE,
)
_SHORTEST_SECRET: Final = 6


class RedactSecrets:
    """A structlog processor that removes credentials from an event before rendering.

    ``secrets`` are literal values (e.g. the API secret once loaded) to erase anywhere.
    Values shorter than 6 characters are not registered: erasing them would mangle text.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        if len(secret) >= _SHORTEST_SECRET:
            self._secrets.add(secret)

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        return {key: self._field(key, value) for key, value in event_dict.items()}

    def _field(self, name: object, value: object) -> object:
        if isinstance(name, str) and _SECRET_NAME.search(name) and value not in (None, ""):
            return REDACTED
        return self._value(value)

    def _value(self, value: object) -> object:
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, Mapping):
            return {key: self._field(key, item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._value(item) for item in value)
        if isinstance(value, bytes | bytearray):
            return self._text(bytes(value).decode("utf-8", "replace"))
        return value

    def _text(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _SECRET_PAIR.sub(lambda m: f"{m['name']}{m['sep']}{REDACTED}", text)


#: The redactor of the active configuration; ``register_secret`` feeds it.
_redactor = RedactSecrets()


def register_secret(value: str) -> None:
    """Never print ``value``: call it for every credential as soon as it is loaded."""
    _redactor.add(value)


def resolve_format(
    requested: LogFormat, stream: TextIO, env: Mapping[str, str] | None = None
) -> Literal["json", "console"]:
    """What ``auto`` means here: JSON under systemd or into a pipe/file, console on a TTY."""
    if requested != "auto":
        return requested
    source = os.environ if env is None else env
    if source.get("JOURNAL_STREAM"):
        return "json"
    isatty = getattr(stream, "isatty", None)
    return "console" if isatty is not None and isatty() else "json"


#: Loggers that write a line per HTTP request at INFO.
_PER_REQUEST = ("httpx", "httpcore")


def configure_logging(
    format: LogFormat = "auto",
    level: str = "info",
    *,
    stream: TextIO | None = None,
    env: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
) -> Literal["json", "console"]:
    """Configure structlog and the stdlib root logger; return the format chosen."""
    if level not in _LEVELS:
        raise ValueError(f"log level must be one of {', '.join(_LEVELS)}, got {level!r}")
    output = sys.stderr if stream is None else stream
    chosen = resolve_format(format, output, env)
    for secret in secrets:
        register_secret(secret)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        # ConsoleRenderer shows "timestamp" first on the line; JSON keeps the short name.
        structlog.processors.TimeStamper(
            fmt="iso", utc=True, key="ts" if chosen == "json" else "timestamp"
        ),
        structlog.processors.StackInfoRenderer(),
    ]
    # Tracebacks become text before redaction in both formats, so they are scanned too.
    shared.append(structlog.processors.format_exc_info)
    renderer: Processor
    if chosen == "json":
        renderer = structlog.processors.JSONRenderer(default=str)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _redactor,
            renderer,
        ],
    )
    handler = logging.StreamHandler(output)
    handler.setFormatter(formatter)
    handler.set_name("asnd")
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == "asnd":
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(_LEVELS[level])
    chatty_level = logging.DEBUG if level == "debug" else max(_LEVELS[level], logging.WARNING)
    for chatty in _PER_REQUEST:
        logging.getLogger(chatty).setLevel(chatty_level)
    return chosen
