"""``asnd backtest``: a journal in, readable and byte-identical outputs out, bad input refused
with one line."""

from __future__ import annotations

import base64
import csv
import json
import socket
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from asnd.backtest import session
from asnd.backtest.html import MAX_TRADE_ROWS
from asnd.daemon import main
from journal.segment import HEADER_SIZE, SegmentHeader
from tests.html_page import HtmlPage

from ..daemon.harness import make_config
from .helpers import market, write_journal

OUTPUTS = (
    "fills.csv", "equity.csv", "trades.csv", "report.json", "report.html", "equity_slot3.png",
    "price_fills.png",
)  # fmt: skip


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return write_journal(tmp_path / "journal", market())


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return make_config(tmp_path / "cfg")


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any socket a backtest tried to open would fail the test."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a backtest opened a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def backtest(*args: str) -> int:
    return main(["backtest", "--quiet", *args])


@pytest.mark.usefixtures("offline")
def test_a_backtest_writes_its_outputs_and_twice_gives_the_same_bytes(
    tmp_path: Path, journal: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = [tmp_path / "a", tmp_path / "b"]
    for out in runs:
        args = [str(journal), "--config", str(config), "--out", str(out), "--journal"]
        assert backtest(*args) == 0
    printed = capsys.readouterr()
    assert "slot 4 trades DOGEUSDT, which the journal has no market data for" in printed.err
    table = printed.out.splitlines()
    assert table[0].split()[:3] == ["slot", "symbol", "pnl"]
    for name in (*OUTPUTS, "journal/00000000000000000001.seg"):
        assert (runs[0] / name).read_bytes() == (runs[1] / name).read_bytes(), name
    report = json.loads((runs[0] / "report.json").read_text())
    assert report["market_events"] == len(market())
    xrp = report["slots"][3]
    # The stdout table is the report's: the XRPUSDT slot's row shows its PnL (text as in JSON).
    printed_row = next(line.split() for line in table if line.split()[:2] == ["3", "XRPUSDT"])
    assert printed_row[2] == xrp["pnl"]
    with (runs[0] / "fills.csv").open() as f:
        fills = list(csv.DictReader(f))
    assert fills, "the XRPUSDT champion traded"
    assert xrp["fills"] == len(fills)
    assert xrp["fees_e8"] == sum(int(f["fee_e8"]) for f in fills) > 0
    assert {f["symbol"] for f in fills} == {"XRPUSDT"}
    assert all(m["fills"] == 0 for m in report["slots"] if m["symbol"] != "XRPUSDT")
    with (runs[0] / "equity.csv").open() as f:
        equity = [r for r in csv.DictReader(f) if r["slot"] == "3"]
    assert len(equity) >= 290, "one sample a second over five minutes"
    assert int(equity[-1]["equity_e8"]) - 200 * 10**8 == xrp["pnl_e8"]
    assert 0 < xrp["time_in_market_pct"] <= 100
    # five minutes of 1 s samples: ratios per sample, none annualised, and the report says so
    assert report["sampling"]["interval_s"] == 1.0
    assert report["sampling"]["annualised"] is False
    assert report["sampling"]["annualisation"].startswith("not annualised: the samples span")
    assert xrp["sharpe"] is None
    assert xrp["sharpe_per_sample"] is not None
    assert xrp["buy_hold"]["qty"] != "0"
    assert (runs[0] / "price_fills.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for row in (*fills, *equity):  # the ISO time is the exact ns, to the millisecond
        moment = datetime.fromisoformat(row["time"])
        assert moment.tzinfo == UTC
        assert int(moment.timestamp() * 1000) == int(row["ts_local_ns"]) // 10**6
    with (runs[0] / "trades.csv").open() as f:
        trades = list(csv.DictReader(f))
    assert len(trades) == xrp["round_trips"] > 0
    assert {f["side"] for f in fills} == {"buy", "sell"}


def test_the_html_report_shows_the_run_its_slots_trades_and_plots(
    tmp_path: Path, journal: Path, config: Path
) -> None:
    out = tmp_path / "o"
    assert backtest(str(journal), "--config", str(config), "--out", str(out)) == 0
    report = json.loads((out / "report.json").read_text())
    page = HtmlPage()
    page.feed((out / "report.html").read_text())
    trips = report["slots"][3]["round_trips"]
    shown = min(trips, MAX_TRADE_ROWS)
    assert page.captions == [
        "run", "slots", "slot 3 XRPUSDT (champion-xrpusdt)", f"round trips ({shown} of {trips})",
    ]  # fmt: skip
    run, slots, slot, trades = page.tables
    assert ["ratios", report["sampling"]["annualisation"]] in run
    assert [r[1] for r in slots[1:]] == [m["symbol"] for m in report["slots"]]
    assert ["profit factor", f"{report['slots'][3]['profit_factor']}", "-"] in slot
    assert len(trades) == 1 + shown
    pngs = [out / "equity_slot3.png", out / "price_fills.png"]
    assert page.images == [
        "data:image/png;base64," + base64.b64encode(p.read_bytes()).decode() for p in pngs
    ]
    assert page.links == [], "self-contained: nothing fetched"


def test_the_queue_model_and_latency_change_the_fills(
    tmp_path: Path, journal: Path, config: Path
) -> None:
    fills = []
    for i, extra in enumerate(
        (["--queue", "worst"], ["--queue", "proportional", "--latency-ms", "0"])
    ):
        out = tmp_path / f"o{i}"
        assert backtest(str(journal), "--config", str(config), "--out", str(out), *extra) == 0
        fills.append((out / "fills.csv").read_text())
    assert fills[0] != fills[1]


def test_a_torn_tail_is_used_up_to_the_tear_with_a_warning(
    tmp_path: Path, journal: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    segment = next(journal.glob("*.seg"))
    size = segment.stat().st_size
    with segment.open("r+b") as f:
        f.truncate(size - 7)  # the last record loses its end
    assert backtest(str(journal), "--config", str(config), "--out", str(tmp_path / "o")) == 0
    assert "torn" in capsys.readouterr().err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["market_events"] == len(market()) - 1


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


def test_a_corrupt_journal_is_a_clear_error(
    tmp_path: Path, journal: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    segment = next(journal.glob("*.seg"))
    data = bytearray(segment.read_bytes())
    data[HEADER_SIZE + 200] ^= 0xFF  # a flipped byte in the middle
    segment.write_bytes(bytes(data))
    assert backtest(str(journal), "--config", str(config), "--out", str(tmp_path / "o")) == 2
    assert "asnd backtest:" in _one_line_error(capsys)


def test_a_newer_schema_is_a_clear_error(
    tmp_path: Path, journal: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    segment = next(journal.glob("*.seg"))
    data = segment.read_bytes()
    header = SegmentHeader.unpack(segment, data[:HEADER_SIZE])
    newer = SegmentHeader(header.major + 1, 0, header.first_seq, header.created_ns)
    segment.write_bytes(newer.pack() + data[HEADER_SIZE:])
    assert backtest(str(journal), "--config", str(config), "--out", str(tmp_path / "o")) == 2
    err = _one_line_error(capsys)
    assert "schema" in err.lower() or "version" in err.lower(), err


def test_a_strategy_for_a_symbol_absent_from_the_journal_is_a_clear_error(
    tmp_path: Path, journal: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    btc = config.parent / "strategies" / "champion_btcusdt.json"
    args = ["--config", str(config), "--out", str(tmp_path / "o"), "--strategy", f"0={btc}"]
    assert backtest(str(journal), *args) == 2
    err = _one_line_error(capsys)
    assert "slot 0 trades BTCUSDT" in err
    assert "no market data" in err


def test_a_missing_journal_and_a_bad_strategy_argument_are_clear_errors(
    tmp_path: Path, journal: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert backtest(str(tmp_path / "nope"), "--config", str(config)) == 2
    assert "does not exist" in _one_line_error(capsys)
    assert backtest(str(tmp_path), "--config", str(config)) == 2
    assert "holds no journal" in _one_line_error(capsys)
    assert backtest(str(journal), "--config", str(config), "--strategy", "x") == 2
    assert "SLOT=FILE" in _one_line_error(capsys)


def test_memory_does_not_grow_with_the_journal_length(
    tmp_path: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four times the events, about the same peak: events are streamed, outputs written out.
    (Holding the 4500 extra events and their decisions would take several MB.) The plots are
    left out: they read back at most ``plots.MAX_POINTS`` samples per slot, by design."""
    monkeypatch.setattr(session, "plot_outputs", lambda *_args: [])
    peaks = []
    for i, n in enumerate((1500, 1500, 6000)):  # the first run warms up imports and caches
        journal = write_journal(tmp_path / f"j{i}", market(n))
        args = [str(journal), "--config", str(config), "--out", str(tmp_path / f"o{i}")]
        tracemalloc.start()
        try:
            assert backtest(*args) == 0
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    assert peaks[2] - peaks[1] < 500_000, peaks


def test_an_invalid_strategy_file_is_a_clear_error(
    tmp_path: Path, journal: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "asn-strategy", "version": 1, "signal": {"op": "exec"}}')
    args = ["--config", str(config), "--out", str(tmp_path / "o")]
    assert backtest(str(journal), *args, "--strategy", f"3={bad}") == 2
    assert "invalid strategy" in _one_line_error(capsys)
    assert backtest(str(journal), *args, "--strategy", f"9={bad}") == 2
    assert "no slot 9" in _one_line_error(capsys)
    assert not (tmp_path / "o").exists(), "nothing written for a run that cannot start"


def test_the_backtest_journal_replays_with_identical_decisions(
    tmp_path: Path, journal: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    assert backtest(str(journal), "--config", str(config), "--out", str(out), "--journal") == 0
    capsys.readouterr()
    assert (
        main(["backtest", "--config", str(config), "--verify-against-live", str(out / "journal")])
        == 0
    )
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.endswith("identical")
    assert "OrderIntent" in last
