"""The log lines made from journaled events: one line per event an operator needs, with the
facts as keys, rendered key=value on a console and as JSON; nothing for market data."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from structlog.testing import capture_logs

from asnd.event_log import log_event
from asnd.log import configure_logging
from journal.events import (
    BUY,
    SELL,
    BookDelta,
    ChallengerLoaded,
    ChallengerRejected,
    Event,
    Fill,
    Kill,
    Liquidation,
    ModelDead,
    OrderRejected,
    OrderSent,
    Promotion,
    Resume,
    RiskHalt,
    RiskVerdict,
    Signal,
    Swap,
    TradingHalted,
)

EVENTS: list[tuple[Event, str, str, dict[str, object]]] = [
    (TradingHalted(7, 1, "kill all: operator"), "trading.halted", "error",
     {"reason": "kill all: operator"}),
    (RiskHalt(8, 1, 3, "max_daily_loss", "max_daily_loss: slot 3 lost 61.00", 20_789),
     "risk.brake", "error", {"slot": 3, "rule": "max_daily_loss"}),
    (Kill(9, 1, -1, "operator: asnctl kill"), "slot.killed", "warning", {"slot": "all"}),
    (Resume(10, 1, 2, "operator: asnctl resume"), "slot.resumed", "warning", {"slot": 2}),
    (ModelDead(11, 1, 4, -150_000_000), "slot.dead", "error", {"slot": 4, "equity": "-1.50"}),
    (Liquidation(12, 1, 4, "DOGEUSDT", "asn-4-9", 236), "slot.liquidation", "warning",
     {"slot": 4, "link_id": "asn-4-9", "qty_lots": 236}),
    (OrderSent(13, 1, 1, "asn-1-2", 12), "order.sent", "info", {"link_id": "asn-1-2"}),
    (Fill(14, 1, 1, "asn-1-2", "v1", "x1", "ETHUSDT", SELL, 30000, 5, 1_100_000, False, 0, 0),
     "order.filled", "info",
     {"side": "sell", "price_ticks": 30000, "qty_lots": 5, "fee": "0.01", "maker": False}),
    (OrderRejected(15, 1, 1, "asn-1-3", 110007, "insufficient balance"), "order.rejected",
     "warning", {"code": 110007, "reason": "insufficient balance"}),
    (RiskVerdict(16, 1, 1, 15, False, "book crossed"), "order.refused", "warning",
     {"intent_seq": 15, "reason": "book crossed"}),
    (ChallengerLoaded(17, 1, 0, "c1", "ab", "strategy_challenger_0_x.json", "{}"),
     "challenger.loaded", "info", {"slot": 0, "strategy_id": "c1"}),
    (ChallengerRejected(18, 1, "strategy_challenger_9.json", "not a regular file"),
     "challenger.rejected", "warning", {"reason": "not a regular file"}),
    (Promotion(19, 1, 0, "c1", "champ", 2.5, 0.01, 20), "challenger.promoted", "warning",
     {"challenger_id": "c1", "champion_id": "champ", "windows": 20}),
    (Swap(20, 1, 0, "champ", "c1", "inherit", "promotion"), "slot.swapped", "warning",
     {"old": "champ", "new": "c1", "mode": "inherit", "cause": "promotion"}),
]  # fmt: skip


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_each_operator_event_is_one_line_with_its_facts() -> None:
    for event, name, level, facts in EVENTS:
        with capture_logs() as logs:
            log_event(event)
        (line,) = logs
        assert line["event"] == name
        assert line["log_level"] == level
        assert line["seq"] == event.seq
        for key, value in facts.items():
            assert line[key] == value, (name, key)


def test_market_data_signals_and_approvals_are_not_logged() -> None:
    quiet: list[Event] = [
        BookDelta(1, 1, "BTCUSDT", 2, 2, 0, 0, [1], [1], [], []),
        Signal(2, 1, 0, "BTCUSDT", "s", 0.5, 0.0, 1),
        RiskVerdict(3, 1, 0, 2, True, "ok"),
    ]
    with capture_logs() as logs:
        for event in quiet:
            log_event(event)
    assert logs == []


@pytest.mark.usefixtures("restore_logging")
def test_lines_render_as_key_value_text_and_as_json() -> None:
    console = io.StringIO()
    configure_logging("console", "info", stream=console)
    log_event(Kill(9, 1, 3, "operator: asnctl kill"))
    text = console.getvalue()
    assert "[warning  ] slot.killed" in text
    assert text.rstrip().endswith("reason='operator: asnctl kill' seq=9 slot=3")
    lines = io.StringIO()
    configure_logging("json", "info", stream=lines)
    log_event(Fill(14, 1, 1, "asn-1-2", "v1", "x1", "ETHUSDT", BUY, 30000, 5, 0, True, 0, 0))
    record = json.loads(lines.getvalue().splitlines()[-1])
    assert (record["event"], record["side"], record["maker"]) == ("order.filled", "buy", True)
