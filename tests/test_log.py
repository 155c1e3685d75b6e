"""Log output: JSON lines or console text, chosen by config and surroundings; no secrets."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from asnd.log import REDACTED, RedactSecrets, configure_logging, resolve_format


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


def fail(error: Exception) -> None:
    raise error


def records(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_level_logger_timestamp_and_fields() -> None:
    out = io.StringIO()
    assert configure_logging("json", "info", stream=out) == "json"
    log = structlog.get_logger("asnd.executor")
    log.info("order.sent", slot=2, link_id="s2-17", price_ticks=19537)
    log.debug("not shown at info")
    [record] = records(out)
    assert record["event"] == "order.sent"
    assert record["level"] == "info"
    assert record["logger"] == "asnd.executor"
    assert (record["slot"], record["link_id"], record["price_ticks"]) == (2, "s2-17", 19537)
    assert isinstance(record["ts"], str)
    assert record["ts"].endswith("Z")


def test_exceptions_and_stdlib_records_are_json_too() -> None:
    out = io.StringIO()
    configure_logging("json", "debug", stream=out)
    try:
        fail(RuntimeError("venue went away"))
    except RuntimeError:
        structlog.get_logger("asnd.feed").exception("feed.crashed")
    logging.getLogger("httpx").warning("HTTP %s", 503)
    crash, foreign = records(out)
    assert crash["level"] == "error"
    assert "RuntimeError: venue went away" in str(crash["exception"])
    assert foreign == {**foreign, "event": "HTTP 503", "logger": "httpx", "level": "warning"}


def test_console_format_is_plain_readable_text() -> None:
    out = Terminal()
    assert configure_logging("auto", "info", stream=out, env={}) == "console"
    structlog.get_logger("asnd.control").warning("control.refused", peer_uid=1001)
    line = out.getvalue().strip()
    assert "control.refused" in line
    assert "peer_uid=1001" in line
    assert "[asnd.control]" in line
    assert "\x1b[" not in line  # no colour codes
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


@pytest.mark.parametrize(
    ("requested", "tty", "env", "chosen"),
    [
        ("auto", True, {}, "console"),
        ("auto", False, {}, "json"),
        ("auto", True, {"JOURNAL_STREAM": "8:12345"}, "json"),
        ("console", False, {"JOURNAL_STREAM": "8:12345"}, "console"),
        ("json", True, {}, "json"),
    ],
)
def test_auto_format_follows_the_terminal_and_systemd(
    requested: str, tty: bool, env: dict[str, str], chosen: str
) -> None:
    stream = Terminal() if tty else io.StringIO()
    assert resolve_format(requested, stream, env) == chosen  # type: ignore[arg-type]


def test_secret_fields_are_redacted_at_any_depth() -> None:
    out = io.StringIO()
    configure_logging("json", "info", stream=out)
    structlog.get_logger("asnd.venue").info(
        "rest.request",
        api_key="AKIAxyz",
        api_secret="s3cr3t",
        headers={"X-BAPI-SIGN": "abcdef0123", "X-BAPI-API-KEY": "AKIAxyz", "Accept": "json"},
        params=[{"password": "hunter22"}, {"symbol": "BTCUSDT"}],
        signal=0.75,
        design="kept",
        token=None,
    )
    [record] = records(out)
    text = out.getvalue()
    for secret in ("AKIAxyz", "s3cr3t", "abcdef0123", "hunter22"):
        assert secret not in text
    assert record["api_key"] == REDACTED
    assert record["headers"] == {
        "X-BAPI-SIGN": REDACTED,
        "X-BAPI-API-KEY": REDACTED,
        "Accept": "json",
    }
    assert record["params"] == [{"password": REDACTED}, {"symbol": "BTCUSDT"}]
    assert (record["signal"], record["design"], record["token"]) == (0.75, "kept", None)


def test_secret_pairs_inside_text_are_redacted() -> None:
    redact = RedactSecrets()
    event = redact(
        None,
        "info",
        {
            "event": "GET /v5/order?api_key=AAA111&sign=BBB222&symbol=BTCUSDT",
            "body": '{"apiKey": "CCC333", "qty": "1"}',
        },
    )
    assert event["event"] == f"GET /v5/order?api_key={REDACTED}&sign={REDACTED}&symbol=BTCUSDT"
    assert event["body"] == f'{{"apiKey": "{REDACTED}", "qty": "1"}}'


def test_registered_secrets_vanish_from_messages_and_tracebacks() -> None:
    out = io.StringIO()
    configure_logging("json", "info", stream=out, secrets=["Zq9-live-secret"])
    log = structlog.get_logger("asnd.bybit")
    log.info("loaded credentials for Zq9-live-secret")
    try:
        fail(ValueError("signature mismatch for Zq9-live-secret"))
    except ValueError:
        log.exception("rest.failed")
    logging.getLogger("trio-websocket").error("auth with Zq9-live-secret failed")
    assert "Zq9-live-secret" not in out.getvalue()
    # message, traceback (the exception text and the source line that raised it), stdlib record
    assert out.getvalue().count(REDACTED) == 4


def test_short_values_are_not_registered_as_secrets() -> None:
    redact = RedactSecrets(["ab"])
    assert redact(None, "info", {"event": "tab grab"})["event"] == "tab grab"


def test_unknown_level_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="log level must be one of debug, info, warning, error"):
        configure_logging("json", "verbose", stream=io.StringIO())


def test_http_clients_log_a_line_per_request_only_at_debug() -> None:
    """httpx logs every request at INFO: on Bybit several lines per order (found running the
    daemon end to end, issue 13). At ``info`` only their warnings pass; ``debug`` shows all."""
    for level, shown in (("info", ["HTTP 503"]), ("debug", ["HTTP Request: GET", "HTTP 503"])):
        out = io.StringIO()
        configure_logging("json", level, stream=out)
        logging.getLogger("httpx").info("HTTP Request: GET")
        logging.getLogger("httpx").warning("HTTP 503")
        events = [json.loads(line)["event"] for line in out.getvalue().splitlines()]
        assert events == shown
