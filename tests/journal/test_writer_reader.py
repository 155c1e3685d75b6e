"""Given events appended, when read back (across segments, by seq, time and kind), then they
come back stamped, in order and gap-free."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
from crc32c import crc32c

from journal.errors import JournalError, JournalLocked, JournalNotFound, SchemaVersionError
from journal.events import BookDelta, Trade
from journal.reader import JournalReader
from journal.segment import HEADER_SIZE, SegmentHeader, segment_paths
from journal.writer import JournalWriter

from .helpers import delta, trade


def test_append_stamps_gap_free_seq_and_reads_back(tmp_path: Path) -> None:
    with JournalWriter.open(tmp_path / "j") as w:
        stamped = [w.append(delta(i) if i % 3 else trade(i)) for i in range(100)]
    assert [e.seq for e in stamped] == list(range(1, 101))
    back = list(JournalReader(tmp_path / "j").events())
    assert back == stamped


def test_reopen_continues_the_sequence(tmp_path: Path) -> None:
    with JournalWriter.open(tmp_path) as w:
        w.append(delta(0))
    with JournalWriter.open(tmp_path) as w:
        assert w.next_seq == 2
        assert w.append(delta(1)).seq == 2
    assert [e.seq for e in JournalReader(tmp_path).events()] == [1, 2]


def test_rotation_and_reading_across_segments(tmp_path: Path) -> None:
    with JournalWriter.open(tmp_path, segment_bytes=4096, max_batch_bytes=512) as w:
        stamped = [w.append(delta(i)) for i in range(300)]
    segments = segment_paths(tmp_path)
    assert len(segments) > 5
    assert int(segments[0].stem) == 1
    reader = JournalReader(tmp_path)
    assert list(reader.events()) == stamped
    assert [e.seq for e in reader.events(from_seq=123, to_seq=130)] == list(range(123, 131))
    assert [e.seq for e in reader.events(from_seq=299)] == [299, 300]
    assert list(reader.events(from_seq=301)) == []


def test_filter_by_kind_and_time(tmp_path: Path) -> None:
    with JournalWriter.open(tmp_path) as w:
        for i in range(50):
            w.append(delta(i))
            w.append(trade(i))
    reader = JournalReader(tmp_path)
    trades = list(reader.events(kinds=[Trade]))
    assert len(trades) == 50
    assert all(isinstance(e, Trade) for e in trades)
    deltas = list(reader.events(kinds=[BookDelta]))
    t0 = deltas[10].ts_local_ns
    t1 = deltas[20].ts_local_ns
    window = list(reader.events(kinds=[BookDelta], from_ts_ns=t0, to_ts_ns=t1))
    assert window == deltas[10:21]


def test_second_writer_is_refused(tmp_path: Path) -> None:
    with JournalWriter.open(tmp_path), pytest.raises(JournalLocked, match="already open"):
        JournalWriter.open(tmp_path)


def test_missing_directory_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(JournalNotFound, match="does not exist"):
        JournalReader(tmp_path / "nope")
    with pytest.raises(JournalError, match="does not exist"):
        JournalWriter.open(tmp_path / "nope", create=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(JournalError, match="cannot create journal directory"):
        JournalWriter.open(tmp_path / "file" / "j")


def test_newer_major_schema_is_refused(tmp_path: Path) -> None:
    with JournalWriter.open(tmp_path) as w:
        w.append(delta(0))
    seg = segment_paths(tmp_path)[0]
    raw = bytearray(seg.read_bytes())
    newer = SegmentHeader(2, 0, 1, 0).pack()
    raw[:HEADER_SIZE] = newer
    seg.write_bytes(bytes(raw))
    with pytest.raises(SchemaVersionError, match=r"schema 2\.0.*Upgrade ASN"):
        list(JournalReader(tmp_path).events())
    with pytest.raises(SchemaVersionError):
        JournalWriter.open(tmp_path)


def test_a_batch_is_one_write(tmp_path: Path) -> None:
    """Group commit: appends are buffered; a commit writes them together."""
    with JournalWriter.open(tmp_path, max_batch_bytes=1 << 30, max_batch_delay_s=3600) as w:
        seg = segment_paths(tmp_path)[0]
        for i in range(200):
            w.append(delta(i))
        assert seg.stat().st_size == HEADER_SIZE, "nothing written before the commit"
        assert w.durable_seq == 0
        w.commit()
        assert w.durable_seq == 200
        assert len(list(JournalReader(tmp_path).events())) == 200


def test_durable_append_is_visible_to_another_reader_at_once(tmp_path: Path) -> None:
    with JournalWriter.open(tmp_path, max_batch_delay_s=3600) as w:
        w.append(delta(0))
        w.append_durable(trade(1))
        assert [e.seq for e in JournalReader(tmp_path).events()] == [1, 2]


def test_event_too_large_is_refused(tmp_path: Path) -> None:
    from journal.events import StateSnapshot

    with JournalWriter.open(tmp_path) as w:
        with pytest.raises(JournalError, match="exceeds the record limit"):
            w.append(StateSnapshot(0, 0, 1, "x", b"\0" * (17 * 1024 * 1024)))
        assert w.append(delta(0)).seq == 1


def test_frame_layout_is_length_crc32c_payload(tmp_path: Path) -> None:
    """The documented on-disk format, checked from the raw bytes."""
    with JournalWriter.open(tmp_path) as w:
        w.append(trade(0))
    raw = segment_paths(tmp_path)[0].read_bytes()
    length, crc = struct.unpack_from("<II", raw, HEADER_SIZE)
    payload = raw[HEADER_SIZE + 8 :]
    assert len(payload) == length
    assert crc32c(payload) == crc
    assert os.path.getsize(segment_paths(tmp_path)[0]) == HEADER_SIZE + 8 + length
