"""The kernel decodes market records from journal bytes equal, field by field, to
``JournalReader``/``journal.codec.decode``; other kinds are skipped and counted; a record it
cannot fold is one clear error with its file and offset."""

from __future__ import annotations

from pathlib import Path

import msgpack
import numpy as np
import pytest
from crc32c import crc32c
from hypothesis import given, settings
from hypothesis import strategies as st

from asnd.core.kernel import BadMarketRecord, MarketKernel
from asnd.core.kernel.layout import (
    K_DELTA,
    K_INSTRUMENT,
    K_SNAPSHOT,
    K_TRADE,
    R_ASKS,
    R_BIDS,
    R_BLOCK_TRADE,
    R_CTS_MS,
    R_FIELDS,
    R_KIND,
    R_LOT_AT,
    R_MIN_NOTIONAL_AT,
    R_MIN_QTY_AT,
    R_PRICE,
    R_QTY,
    R_SEQ,
    R_SIDE,
    R_SYMBOL_AT,
    R_TICK_AT,
    R_TRADE_ID_AT,
    R_TRADE_TS_MS,
    R_TS_LOCAL_NS,
    R_UPDATE_ID,
    R_VENUE_AT,
    R_VENUE_SEQ,
    R_VENUE_TS_MS,
    Status,
)
from asnd.core.kernel.records import decode_record
from journal.blocks import JournalBlocks
from journal.bybit_archive import read_archive
from journal.codec import decode, encode
from journal.errors import CorruptJournal
from journal.events import (
    BookDelta,
    BookSnapshot,
    Event,
    InstrumentInfo,
    TimerFired,
    Trade,
)
from journal.reader import JournalReader
from journal.segment import FRAME, SegmentHeader, segment_name
from journal.writer import JournalWriter


def kernel_decode(payload: bytes) -> Event | None:
    """The event the kernel's decoder read, rebuilt from its fields (None: not market)."""
    buf = np.frombuffer(payload, np.uint8)
    rec = np.zeros(R_FIELDS, np.int64)
    lists = np.zeros((4, 1 << 14), np.int64)
    status, detail = decode_record(buf, 0, len(payload), rec, lists)
    assert status == Status.OK, (Status(status), detail)

    def text(at: int) -> str:
        start, n = int(rec[at]), int(rec[at + 1])
        return "0" if n < 0 else bytes(buf[start : start + n]).decode()

    def ints(row: int, n: int) -> list[int]:
        return [int(v) for v in lists[row, :n]]

    kind, seq, ts = int(rec[R_KIND]), int(rec[R_SEQ]), int(rec[R_TS_LOCAL_NS])
    if kind == K_INSTRUMENT:
        fields = (R_VENUE_AT, R_SYMBOL_AT, R_TICK_AT, R_LOT_AT, R_MIN_QTY_AT, R_MIN_NOTIONAL_AT)
        return InstrumentInfo(seq, ts, *(text(f) for f in fields))
    if kind == K_TRADE:
        return Trade(seq, ts, text(R_SYMBOL_AT), text(R_TRADE_ID_AT), int(rec[R_SIDE]),
                     int(rec[R_PRICE]), int(rec[R_QTY]), int(rec[R_TRADE_TS_MS]),
                     bool(rec[R_BLOCK_TRADE]))  # fmt: skip
    if kind in {K_SNAPSHOT, K_DELTA}:
        nb, na = int(rec[R_BIDS]), int(rec[R_ASKS])
        cls = BookSnapshot if kind == K_SNAPSHOT else BookDelta
        return cls(seq, ts, text(R_SYMBOL_AT), int(rec[R_UPDATE_ID]), int(rec[R_VENUE_SEQ]),
                   int(rec[R_VENUE_TS_MS]), int(rec[R_CTS_MS]), ints(0, nb), ints(1, nb),
                   ints(2, na), ints(3, na))  # fmt: skip
    return None


def test_every_record_of_the_real_archive_as_journal_reader_reads_it(
    tmp_path: Path, bybit_archive: Path
) -> None:
    with JournalWriter.open(tmp_path / "j", fsync=False) as journal:
        for e in read_archive(bybit_archive):
            journal.append(e)
        journal.append(TimerFired(0, 1, "mark"))
    want = list(JournalReader(tmp_path / "j").events())
    got: list[Event | None] = []
    for block in JournalBlocks(tmp_path / "j").blocks():
        begin = 0
        for end in block.ends:
            got.append(kernel_decode(bytes(block.data[begin + 8 : end])))
            begin = end
    assert got[:-1] == want[:-1]
    assert got[-1] is None  # the timer: not a market record
    assert len(want) > 50


i64 = st.integers(-(2**63), 2**63 - 1)
texts = st.text(max_size=300)  # fixstr, str8 and str16
tick_lists = st.lists(i64, max_size=40)  # fixarray and array16


@st.composite
def market_events(draw: st.DrawFn) -> Event:
    seq, ts = draw(st.integers(0, 2**63 - 1)), draw(i64)
    kind = draw(st.sampled_from([InstrumentInfo, BookSnapshot, BookDelta, Trade]))
    if kind is InstrumentInfo:
        return InstrumentInfo(seq, ts, *(draw(texts) for _ in range(6)))
    if kind is Trade:
        return Trade(seq, ts, draw(texts), draw(texts), draw(i64), draw(i64), draw(i64),
                     draw(i64), draw(st.booleans()))  # fmt: skip
    nb, na = draw(st.integers(0, 40)), draw(st.integers(0, 40))
    book: Event = kind(seq, ts, draw(texts), draw(i64), draw(i64), draw(i64), draw(i64),
                draw(st.lists(i64, min_size=nb, max_size=nb)),
                draw(st.lists(i64, min_size=nb, max_size=nb)),
                draw(st.lists(i64, min_size=na, max_size=na)),
                draw(st.lists(i64, min_size=na, max_size=na)))  # fmt: skip
    return book


@settings(max_examples=300, deadline=None)
@given(market_events())
def test_generated_market_records_decode_as_the_codec_decodes_them(event: Event) -> None:
    payload = encode(event)
    assert kernel_decode(payload) == decode(payload) == event


def test_older_and_newer_minor_schemas() -> None:
    """Missing trailing defaults (older writers) and extra trailing elements (newer ones)
    read as msgspec reads them."""
    trade = msgpack.unpackb(encode(Trade(3, 4, "X", "id", 1, 10, 2, 5, True)))
    old_trade = msgpack.packb(trade[:-1])
    info = msgpack.unpackb(encode(InstrumentInfo(1, 2, "bybit", "X", "0.1", "1", "5", "6")))
    old_info = msgpack.packb(info[:-2])
    newer = msgpack.packb([*trade, 99, "appended later"])
    for payload in (old_trade, old_info, newer):
        assert kernel_decode(payload) == decode(payload)


def _segment(path: Path, payloads: list[bytes]) -> None:
    data = bytearray(SegmentHeader.new(1, 0).pack())
    for p in payloads:
        data += FRAME.pack(len(p), crc32c(p)) + p
    path.mkdir()
    (path / segment_name(1)).write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ([3, 2, 0, "X", "not an int", 0, 0, 0, [], [], [], []], "element 4"),
        ([3, 2, 0, "X", 1, 0, 0, 0, [1, 2], [5], [], []], "element 9"),
        ([4, 2, 0, "X", "t", 1, 10], "element 7"),
        ([2, 3, 0, "X", 1, 0, 0, 0, [], [], [], []], "seq 3 where 2 was expected"),
    ],
)
def test_a_bad_market_record_is_one_error_with_file_and_offset(
    tmp_path: Path, record: list[object], message: str
) -> None:
    good = encode(Trade(1, 0, "X", "t", 1, 10, 1, 0))
    bad = msgpack.packb(record)
    _segment(tmp_path / "j", [good, bad])
    kernel = MarketKernel()
    with pytest.raises(CorruptJournal, match=message) as caught:
        kernel.fold_blocks(JournalBlocks(tmp_path / "j").blocks())
    assert f"offset {32 + 8 + len(good)}" in str(caught.value)
    assert kernel.state.kinds[4] == 1  # the good record before it was folded


def test_a_torn_tail_ends_the_read_and_is_reported(tmp_path: Path) -> None:
    records = [encode(Trade(i, 0, "X", "t", 1, 10, 1, 0)) for i in (1, 2)]
    _segment(tmp_path / "j", records)
    path = tmp_path / "j" / segment_name(1)
    path.write_bytes(path.read_bytes()[:-3])
    blocks = JournalBlocks(tmp_path / "j")
    kernel = MarketKernel()
    kernel.fold_blocks(blocks.blocks())
    assert kernel.state.kinds[4] == 1
    assert blocks.torn_tail is not None
    assert blocks.torn_tail.offset == 32 + 8 + len(records[0])


def test_payloads_without_a_journal_raise_bad_market_record() -> None:
    with pytest.raises(BadMarketRecord, match="element 0") as caught:
        MarketKernel().fold_payloads([encode(TimerFired(0, 1, "x")), b"\xc0"])
    assert caught.value.frame == 1


def test_records_over_many_segments_fold_with_their_seqs_checked(tmp_path: Path) -> None:
    with JournalWriter.open(tmp_path / "j", segment_bytes=4096, fsync=False) as journal:
        for i in range(200):
            journal.append(Trade(0, i, "X", f"t{i}", 1, 10, 1, 0))
    kernel = MarketKernel()
    kernel.fold_blocks(JournalBlocks(tmp_path / "j").blocks())
    assert kernel.state.kinds[4] == 200
