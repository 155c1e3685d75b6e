"""``asn-journal import-binance`` on the real Binance feeds in ``shared/data/binance`` (issue 17,
Must show 1) and on damaged copies of them.

Every recording imports (once per session, ``binance_journals``); replayed through the market
kernel no book event is a gap or leaves the book crossed or stale, and the rebuilt best bid and
ask equal every ``bookTicker`` whose ``u`` is that of the last applied diff (``venue_seq``).
Bad inputs exit 2 with one line that names the file and line, and publish nothing.
"""

from __future__ import annotations

import gzip
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from asnd.core.kernel import MarketKernel, Verdict
from asnd.core.kernel.layout import (
    O_ASK_LOTS,
    O_ASK_PRICE,
    O_BID_LOTS,
    O_BID_PRICE,
    O_FIELDS,
    O_SEQ,
    O_STALE,
    O_VERDICT,
)
from journal.binance_feed import book_tickers, read_feeds
from journal.blocks import JournalBlocks
from journal.decimals import Scale
from journal.errors import ArchiveError
from journal.events import BookDelta, BookSnapshot, InstrumentInfo, Trade
from journal.reader import JournalReader
from tests.conftest import BINANCE_RECORDINGS, REPO
from tests.journal.test_cli import asn_journal

# Markets, the grids the survey infers (the finest step the feed uses) and the trade lines per
# recording (shared/data/README.md).
EXPECTED = {
    "usdm": ("binance-usdm", "BTCUSDT", "0.1", "0.001", 21_313),
    "spot": ("binance-spot", "BTCUSDT", "0.01", "0.000001", 19_904),
    "cm": ("binance-cm", "BTCUSD_PERP", "0.1", "1", 5_235),
}


def _kernel_rows(journal: Path) -> npt.NDArray[np.int64]:
    chunks: list[npt.NDArray[np.int64]] = [np.zeros((0, O_FIELDS), np.int64)]
    kernel = MarketKernel(sink=lambda ints, _values: chunks.append(ints.copy()))
    kernel.fold_blocks(JournalBlocks(journal).blocks())
    return np.concatenate(chunks)


@pytest.mark.parametrize("name", list(BINANCE_RECORDINGS))
def test_every_feed_replays_without_gap_or_cross_and_matches_book_ticker(
    name: str, binance_journals: dict[str, Path], shared_data: Path
) -> None:
    journal = binance_journals[name]
    venue, symbol, tick, lot, trades = EXPECTED[name]
    events = list(JournalReader(journal).events())
    infos = [e for e in events if isinstance(e, InstrumentInfo)]
    assert [(i.venue, i.symbol, i.tick_size, i.lot_size) for i in infos] == [
        (venue, symbol, tick, lot)
    ]
    assert sum(isinstance(e, Trade) for e in events) == trades
    book = [e for e in events if isinstance(e, BookSnapshot | BookDelta)]
    assert isinstance(book[0], BookSnapshot)
    assert sum(isinstance(e, BookSnapshot) for e in book) == 1
    # Renumbered contiguously; Binance's u kept as venue_seq, rising.
    assert [e.update_id for e in book] == list(range(1, len(book) + 1))
    assert all(a.venue_seq < b.venue_seq for a, b in itertools.pairwise(book))
    stamps = [e.ts_local_ns for e in events]
    assert stamps == sorted(stamps)

    rows = _kernel_rows(journal)
    assert len(rows) == len(book)
    verdicts = set(rows[:, O_VERDICT].tolist())
    assert verdicts == {Verdict.SNAPSHOT, Verdict.APPLIED}  # 0 gaps, 0 crossed books
    assert not rows[:, O_STALE].any()

    # The rebuilt top of book against Binance's bookTicker at the same u.
    venue_seq = {e.seq: e.venue_seq for e in book}
    top = {venue_seq[int(r[O_SEQ])]: r for r in rows}
    prices, sizes = Scale(tick), Scale(lot)
    files = [shared_data / "binance" / f for f in BINANCE_RECORDINGS[name]]
    compared = mismatched = 0
    for ticker in book_tickers(files):
        row = top.get(ticker.u)
        if row is None:
            continue
        compared += 1
        want = (
            prices.count(ticker.b),
            sizes.count(ticker.B),
            prices.count(ticker.a),
            sizes.count(ticker.A),
        )
        got = (row[O_BID_PRICE], row[O_BID_LOTS], row[O_ASK_PRICE], row[O_ASK_LOTS])
        mismatched += tuple(map(int, got)) != want
    print(f"{name}: {compared} bookTickers compared, {mismatched} differ")
    assert compared > 100
    assert mismatched == 0


# ------------------------------------------------------------------------- bad inputs


def _excerpt(shared_data: Path, member: str, lines: int) -> list[bytes]:
    with gzip.open(shared_data / "binance" / member) as f:
        return [f.readline() for _ in range(lines)]


def _refused(proc: subprocess.CompletedProcess[str], out: Path, *needles: str) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    message = proc.stderr.strip()
    assert "\n" not in message
    assert message.startswith("asn-journal: error: ")
    for needle in needles:
        assert needle in message
    assert not out.exists()
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []
    return message


def _depth_lines(lines: list[bytes]) -> list[int]:
    """1-based numbers of the diff-depth lines."""
    return [i + 1 for i, line in enumerate(lines) if b"@depth@" in line[:80]]


@pytest.mark.parametrize(
    ("member", "rule"),
    [("usdm/btcusdt_20240808.gz", "pu="), ("spot/btcusdt_20240808.gz", "U=")],
)
def test_a_missing_diff_is_a_gap_naming_file_and_line(
    tmp_path: Path, shared_data: Path, member: str, rule: str
) -> None:
    lines = _excerpt(shared_data, member, 300)
    *_, dropped, last = _depth_lines(lines)
    feed = tmp_path / "btcusdt_20240808.txt"
    feed.write_bytes(b"".join(line for i, line in enumerate(lines, 1) if i != dropped))
    out = tmp_path / "j"
    message = _refused(asn_journal("import-binance", out, feed), out, "gap in BTCUSDT", rule)
    assert f"{feed}:{last - 1}:" in message  # the line that does not continue, after the cut


def test_the_whole_excerpt_imports(tmp_path: Path, shared_data: Path) -> None:
    """The excerpts above are importable as they are: the gap is the only fault."""
    feed = tmp_path / "btcusdt_20240808.txt"
    feed.write_bytes(b"".join(_excerpt(shared_data, "usdm/btcusdt_20240808.gz", 300)))
    proc = asn_journal("import-binance", tmp_path / "j", feed)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "BTCUSDT (binance-usdm): tick 0.1, lot 0.001"
    kinds = {type(e) for e in JournalReader(tmp_path / "j").events()}
    assert kinds == {InstrumentInfo, BookSnapshot, BookDelta, Trade}


def test_truncated_last_line_and_malformed_json_name_the_line(
    tmp_path: Path, shared_data: Path
) -> None:
    lines = _excerpt(shared_data, "cm/btcusd_perp_20240808.gz", 120)
    feed = tmp_path / "btcusd_perp_20240808.txt"
    feed.write_bytes(b"".join(lines[:99]) + lines[99][: len(lines[99]) // 2])
    out = tmp_path / "j"
    _refused(asn_journal("import-binance", out, feed), out, f"{feed}:100:", "malformed message")

    broken = lines[:]
    broken[40] = broken[40].replace(b'"data":{', b'"data":{{')
    feed.write_bytes(b"".join(broken))
    _refused(asn_journal("import-binance", out, feed), out, f"{feed}:41:", "malformed message")

    broken[40] = b"not-a-time " + lines[40].partition(b" ")[2]
    feed.write_bytes(b"".join(broken))
    _refused(asn_journal("import-binance", out, feed), out, f"{feed}:41:", "receive time")


def test_truncated_gzip_is_a_clear_error(tmp_path: Path, shared_data: Path) -> None:
    data = (shared_data / "binance" / "spot" / "btcusdt_20240808.gz").read_bytes()
    feed = tmp_path / "btcusdt_20240808.gz"
    feed.write_bytes(data[:200_000])
    out = tmp_path / "j"
    _refused(asn_journal("import-binance", out, feed), out, f"{feed}: truncated or damaged")


def test_off_grid_value_names_the_line_and_asks_for_real_sizes(
    tmp_path: Path, shared_data: Path
) -> None:
    lines = _excerpt(shared_data, "usdm/btcusdt_20240808.gz", 300)
    feed = tmp_path / "btcusdt_20240808.txt"
    feed.write_bytes(b"".join(lines))
    out = tmp_path / "j"
    message = _refused(
        asn_journal("import-binance", out, feed, "--tick-size", "0.5"),
        out,
        "is not a multiple of '0.5'",
        "--tick-size",
    )
    # The first trade (diffs before the snapshot wait for it, trades do not) is off the grid.
    first_trade = next(i for i, line in enumerate(lines, 1) if b"@trade" in line[:80])
    assert f"{feed}:{first_trade}:" in message


def test_a_continuation_file_alone_has_no_snapshot(tmp_path: Path, shared_data: Path) -> None:
    feed = tmp_path / "btcusdt_20240809.txt"
    feed.write_bytes(b"".join(_excerpt(shared_data, "spot/btcusdt_20240809.gz", 200)))
    out = tmp_path / "j"
    _refused(asn_journal("import-binance", out, feed), out, "no depth snapshot for BTCUSDT")


def test_a_killed_import_publishes_nothing(tmp_path: Path, shared_data: Path) -> None:
    """SIGKILL while the journal is being written: no journal, only a hidden partial
    directory, which the next import removes."""
    out = tmp_path / "j"
    feed = shared_data / "binance" / "cm" / "btcusd_perp_20240808.gz"
    proc = subprocess.Popen(
        [sys.executable, "-m", "journal.cli", "import-binance", str(out), str(feed)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        segment = None
        while segment is None and proc.poll() is None and time.monotonic() < deadline:
            segment = next(tmp_path.glob(".j.partial-*/*.seg"), None)
            time.sleep(0.01)  # polling a file system for a file, not ordering threads
        assert segment is not None, "the import never started writing"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    assert list(tmp_path.glob(".j.partial-*"))
    small = tmp_path / "btcusdt_20240808.txt"
    small.write_bytes(b"".join(_excerpt(shared_data, "usdm/btcusdt_20240808.gz", 100)))
    assert asn_journal("import-binance", out, small).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["btcusdt_20240808.txt", "j"]


# ------------------------------------------------------------- the replay rules, in small


def _diff(recv: int, first: int, last: int, prev: int | None, bids: str = "[]") -> str:
    pu = "" if prev is None else f',"pu":{prev}'
    stream = "btcusdt@depth@0ms" if prev is not None else "btcusdt@depth@100ms"
    return (
        f'{recv} {{"stream":"{stream}","data":{{"e":"depthUpdate","E":{recv},"s":"BTCUSDT",'
        f'"U":{first},"u":{last}{pu},"b":{bids},"a":[["101.0","1"]]}}}}'
    )


def _snapshot(recv: int, last_update_id: int) -> str:
    return (
        f'{recv} {{"lastUpdateId":{last_update_id},"bids":[["99.5","2"]],"asks":[["100.5","3"]]}}'
    )


def _replay(
    tmp_path: Path, lines: list[str], name: str = "btcusdt_20240808.txt"
) -> list[BookSnapshot | BookDelta]:
    feed = tmp_path / name
    feed.write_text("\n".join(lines) + "\n")
    return [e for e in read_feeds([feed]) if isinstance(e, BookSnapshot | BookDelta)]


def test_futures_keep_the_diff_ending_at_last_update_id_and_chain_on_pu(tmp_path: Path) -> None:
    book = _replay(tmp_path, [
        _diff(1, 90, 99, 89),  # covered by the snapshot (u < 100): dropped
        _diff(2, 99, 100, 99),  # u == lastUpdateId: futures keep it (it straddles 100)
        _snapshot(3, 100),
        _diff(4, 101, 107, 100),
        _diff(5, 108, 108, 107, '[["99.5","0"]]'),
    ])  # fmt: skip
    assert [(type(e), e.update_id, e.venue_seq) for e in book] == [
        (BookSnapshot, 1, 100), (BookDelta, 2, 100), (BookDelta, 3, 107), (BookDelta, 4, 108),
    ]  # fmt: skip
    # A diff received before the snapshot is journaled after it, at the snapshot's time.
    assert [e.ts_local_ns for e in book] == [3, 3, 4, 5]
    assert (book[-1].bid_ticks, book[-1].bid_lots) == ([995], [0])  # tick 0.1 inferred


def test_spot_drops_the_diff_ending_at_last_update_id_and_chains_on_u(tmp_path: Path) -> None:
    book = _replay(tmp_path, [
        _snapshot(1, 100),
        _diff(2, 95, 100, None),  # u <= lastUpdateId: spot drops it
        _diff(3, 101, 104, None),
        _diff(4, 105, 109, None),
    ])  # fmt: skip
    assert [(e.update_id, e.venue_seq) for e in book] == [(1, 100), (2, 104), (3, 109)]


def test_a_later_snapshot_resyncs_the_book(tmp_path: Path) -> None:
    book = _replay(tmp_path, [
        _snapshot(1, 100),
        _diff(2, 95, 104, 94),
        _snapshot(3, 200),  # a new session: its diffs start over from lastUpdateId
        _diff(4, 150, 180, 170),  # covered
        _diff(5, 190, 205, 180),
        _diff(6, 206, 210, 205),
    ], name="recording.txt")  # fmt: skip
    # The snapshots name no symbol (USD-M, spot): the recording's only depth symbol it is.
    assert {e.symbol for e in book} == {"BTCUSDT"}
    assert [(type(e).__name__, e.update_id, e.venue_seq) for e in book] == [
        ("BookSnapshot", 1, 100), ("BookDelta", 2, 104), ("BookSnapshot", 3, 200),
        ("BookDelta", 4, 205), ("BookDelta", 5, 210),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("lines", "where", "what"),
    [
        ([_snapshot(1, 100), _diff(2, 102, 104, 100)], 2, "does not cover 100"),
        ([_snapshot(1, 100), _diff(2, 96, 101, None), _diff(3, 103, 104, None)], 3, "U=103"),
        ([_diff(1, 99, 104, 98), _snapshot(2, 90)], 1, "does not cover 90"),
    ],
)
def test_chain_breaks_name_the_diff(
    tmp_path: Path, lines: list[str], where: int, what: str
) -> None:
    with pytest.raises(ArchiveError, match=f"btcusdt_20240808.txt:{where}: gap in BTCUSDT") as e:
        _replay(tmp_path, lines)
    assert what in str(e.value)
