"""Every column of ``fills.csv``, ``equity.csv`` and ``trades.csv`` and every figure of a
slot's report, checked against values worked out by hand on a tiny market: four fills (a
partial close, a flip from long to short, a close) on a book that moves once.

The fills are folded into the real ``DaemonState`` (so its ledger says the equity) and handed
to the real ``Recorder``, exactly as ``asnd backtest`` does with the L2 replay's fills.

Instrument: tick 0.0001, lot 0.1, so a tick-lot is worth 0.00001 USDT (1000 e8). Capital 100
USDT; fees by the default schedule, maker 200 ppm, taker 550 ppm.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import msgspec
import pytest

from asnd.backtest.html import write_html
from asnd.backtest.record import Recorder
from asnd.backtest.slot_report import annualisation_of, slot_report
from asnd.core.instrument import E8
from asnd.core.portfolio import CoreConfig, DaemonState
from asnd.core.slot import SlotConfig
from journal.events import BookSnapshot, Fill, InstrumentInfo
from tests.html_page import HtmlPage

T = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z
S = 1_000_000_000
SYMBOL = "XRPUSDT"


def book(ts: int, bid: int, ask: int, update: int) -> BookSnapshot:
    return BookSnapshot(0, ts, SYMBOL, update, update, 0, 0, [bid], [500], [ask], [500])


def fill(n: int, ts: int, side: int, price: int, lots: int, *, maker: bool) -> Fill:
    return Fill(
        0, ts, 0, f"asn-0-{n}", f"v{n}", f"e{n}", SYMBOL, side, price, lots, 0, maker, ts // 10**6
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("out")
    state = DaemonState(CoreConfig((SlotConfig(SYMBOL, "0.1", "100", capital_e8=100 * E8),)))
    recorder = Recorder(state, out, {0: "hand"})
    info = InstrumentInfo(0, T, "bybit", SYMBOL, "0.0001", "0.1")
    script: list[tuple[int, list[Any]]] = [  # as the backtest does: events, then the time
        (T, [info, book(T, 20000, 20002, 1)]),
        (T + S // 2, [fill(1, T + S // 2, +1, 20000, 30, maker=True)]),
        (T + S, []),
        (T + 3 * S // 2, [fill(2, T + 3 * S // 2, -1, 20010, 10, maker=False)]),
        (T + 2 * S, []),
        (T + 22 * S // 10, [book(T + 22 * S // 10, 20100, 20102, 2)]),
        (T + 5 * S // 2, [fill(3, T + 5 * S // 2, -1, 20020, 40, maker=True)]),
        (T + 3 * S, []),
        (T + 7 * S // 2, [fill(4, T + 7 * S // 2, +1, 20030, 20, maker=False)]),
        (T + 4 * S, []),
    ]
    seq = 0
    for ts, events in script:
        for event in events:
            seq += 1
            numbered = msgspec.structs.replace(event, seq=seq)
            state.apply(numbered)
            if isinstance(numbered, Fill):
                recorder.on_fill(numbered)
        recorder.on_time(ts)
    recorder.finish()
    recorder.close()
    year = annualisation_of(recorder.sample_ns)
    report = slot_report(recorder.slots[0], state.instruments[SYMBOL], recorder.span_ns, year)
    return out, report


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_fills_csv_has_iso_times_units_words_and_exact_fees(
    run: tuple[Path, dict[str, Any]],
) -> None:
    fills = rows(run[0] / "fills.csv")
    assert [(f["time"], f["side"], f["price"], f["qty"], f["liquidity"]) for f in fills] == [
        ("2023-11-14T22:13:20.500Z", "buy", "2.0000", "3.0", "maker"),
        ("2023-11-14T22:13:21.500Z", "sell", "2.0010", "1.0", "taker"),
        ("2023-11-14T22:13:22.500Z", "sell", "2.0020", "4.0", "maker"),
        ("2023-11-14T22:13:23.500Z", "buy", "2.0030", "2.0", "taker"),
    ]
    # notional = price x qty; fee = notional x 200 ppm (maker) or 550 ppm (taker), to 1e-8
    assert [(f["notional"], f["fee"], f["fee_e8"]) for f in fills] == [
        ("6.00", "0.0012", "120000"),
        ("2.001", "0.00110055", "110055"),
        ("8.008", "0.0016016", "160160"),
        ("4.006", "0.0022033", "220330"),
    ]
    assert [(f["ts_local_ns"], f["price_ticks"], f["qty_lots"]) for f in fills][1] == (
        str(T + 3 * S // 2), "20010", "10",
    )  # fmt: skip
    assert [f["seq"] for f in fills] == ["3", "4", "6", "7"]
    assert fills[0]["link_id"] == "asn-0-1"
    assert fills[0]["symbol"] == SYMBOL


#: Equity by hand: capital + sells - buys + position x mark - fees (long at the bid, short
#: at the ask). Buy-and-hold: 100 USDT buys 499 lots at the first mid 2.0001 (49.9 XRP for
#: 99.80499), leaving 0.19501 cash, marked at the bid.
EQUITY = [
    ("2023-11-14T22:13:20.000Z", "100.00", "0.0", "2.0001", "99.99501"),
    ("2023-11-14T22:13:21.000Z", "99.9988", "3.0", "2.0001", "99.99501"),
    ("2023-11-14T22:13:22.000Z", "99.99869945", "2.0", "2.0001", "99.99501"),
    ("2023-11-14T22:13:23.000Z", "99.98469785", "-2.0", "2.0101", "100.49401"),
    ("2023-11-14T22:13:24.000Z", "99.99689455", "0.0", "2.0101", "100.49401"),
]


def test_equity_csv_has_iso_times_units_and_buy_and_hold(run: tuple[Path, dict[str, Any]]) -> None:
    equity = rows(run[0] / "equity.csv")
    got = [(r["time"], r["equity"], r["position"], r["mid"], r["buy_hold_equity"]) for r in equity]
    assert got == EQUITY
    assert equity[3]["bid_ticks"] == "20100"
    assert equity[3]["ask_ticks"] == "20102"
    assert equity[3]["equity_e8"] == "9998469785"
    assert equity[3]["position_lots"] == "-20"
    assert equity[3]["buy_hold_equity_e8"] == "10049401000"
    assert [int(r["ts_local_ns"]) for r in equity] == [T + k * S for k in range(5)]


def test_trades_csv_matches_fifo_round_trips_with_fee_shares(
    run: tuple[Path, dict[str, Any]],
) -> None:
    trades = rows(run[0] / "trades.csv")
    got = [
        (t["direction"], t["entry_price"], t["exit_price"], t["qty"], t["pnl"], t["fees"],
         t["net_pnl"], t["held_s"])
        for t in trades
    ]  # fmt: skip
    assert got == [
        # 1.0 of the 3.0 bought: entry fee share 0.0012 x 1/3, the whole exit fee
        ("long", "2.0000", "2.0010", "1.0", "0.001", "0.00150055", "-0.00050055", "1.000"),
        # the other 2.0, closed by the flip: the rest of the entry fee, half the exit fee
        ("long", "2.0000", "2.0020", "2.0", "0.004", "0.0016008", "0.0023992", "2.000"),
        # the flip's other half opened a short, bought back higher
        ("short", "2.0020", "2.0030", "2.0", "-0.002", "0.0030041", "-0.0050041", "1.000"),
    ]
    assert trades[1]["entry_time"] == "2023-11-14T22:13:20.500Z"
    assert trades[1]["exit_time"] == "2023-11-14T22:13:22.500Z"
    assert [t["net_pnl_e8"] for t in trades] == ["-50055", "239920", "-500410"]
    assert sum(int(t["net_pnl_e8"]) for t in trades) == 9_999_689_455 - 100 * E8


def test_the_slot_report_figures(run: tuple[Path, dict[str, Any]]) -> None:
    m = run[1]
    assert (m["equity"], m["pnl"], m["pnl_e8"]) == ("99.99689455", "-0.00310545", -310545)
    assert m["return_pct"] == round(-100 * 310545 / 10**10, 4)
    assert (m["fees"], m["fees_e8"], m["fills"], m["maker_fills"]) == ("0.00610545", 610545, 4, 2)
    assert m["traded_notional"] == "20.015"
    assert m["turnover"] == round(2_001_500_000 / 10**10, 4)  # 20.015 USDT over 100
    # deepest fall: from 100.00 at the start to 99.98469785 after the flip, not recovered
    assert (m["max_drawdown"], m["max_drawdown_e8"]) == ("0.01530215", 1530215)
    assert m["max_drawdown_pct"] == round(100 * 1530215 / 10**10, 4)
    assert (m["max_drawdown_duration_s"], m["max_drawdown_recovered"]) == (4.0, False)
    assert (m["round_trips"], m["win_rate_pct"]) == (3, round(100 / 3, 4))
    assert m["profit_factor"] == round(239920 / (50055 + 500410), 4)
    assert m["avg_trade_pnl"] == "-0.00103515"  # -310545 / 3
    assert m["time_in_market_pct"] == 75.0  # 0.5 s .. 3.5 s of 4 s
    gross = [0, 30 * 40002 * 500, 20 * 40002 * 500, 20 * 40202 * 500, 0]
    equity = [10**10, 9_999_880_000, 9_999_869_945, 9_998_469_785, 9_999_689_455]
    exposure = 100 * sum(g / e for g, e in zip(gross, equity, strict=True)) / 5
    assert m["exposure_pct"] == round(exposure, 4)
    assert m["open_position"] == "0.0"
    # five samples: too few returns for any ratio, and far too short to annualise
    assert (m["sharpe"], m["sortino"], m["sharpe_per_sample"]) == (None, None, None)
    hold = m["buy_hold"]
    assert (hold["qty"], hold["entry_price"], hold["equity"]) == ("49.9", "2.0001", "100.49401")
    assert (hold["pnl_e8"], hold["return_pct"]) == (49_401_000, 0.494)
    # marked at the bid from the first sample on, and the bid only rose
    assert (hold["max_drawdown"], hold["max_drawdown_duration_s"]) == ("0.00", 0.0)


def test_the_html_report_holds_its_tables_and_inline_images(
    run: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    out, m = run
    png = tmp_path / "equity_slot0.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 10)
    report = {
        "inputs": ["j"], "start": "2023-11-14T22:13:20.000Z", "end": "2023-11-14T22:13:24.000Z",
        "span_s": 4.0, "market_events": 3,
        "fill_model": {"engine": "L2Replay", "queue": "worst_case", "latency_ms": 5.0},
        "sampling": {"samples": 5, "equity_step_s": 1.0, "equity_mark": "conservative",
                     "annualisation": "not annualised: 4 returns (under 30)",
                     "buy_hold": "b", "trades": "t"},
        "slots": [m],
    }  # fmt: skip
    page = tmp_path / "report.html"
    write_html(page, report, [png], out / "trades.csv")
    parser = HtmlPage()
    parser.feed(page.read_text())
    assert parser.captions == ["run", "slots", "slot 0 XRPUSDT (hand)", "round trips (3 of 3)"]
    run_table, slots, slot, trades = parser.tables
    assert ["ratios", "not annualised: 4 returns (under 30)"] in run_table
    assert slots[1][:3] == ["0", "XRPUSDT", "-0.00310545"]
    assert ["win rate %", "33.3333", "-"] in slot
    assert ["return %", "-0.0031", "0.494"] in slot
    assert trades[0][:3] == ["slot", "symbol", "direction"]
    assert trades[2][-3:] == ["0.0016008", "0.0023992", "2.000"]
    assert parser.images == ["data:image/png;base64,iVBORw0KGgp4eHh4eHh4eHh4"]
    assert parser.links == [], "self-contained: nothing fetched"
