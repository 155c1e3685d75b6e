"""Crash recovery: a torn tail is truncated and reported; damage before the tail is an error
with file and offset; ``verify`` reports both and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from journal.cli import verify_journal
from journal.errors import CorruptJournal
from journal.reader import JournalReader
from journal.segment import HEADER_SIZE, segment_paths
from journal.writer import JournalWriter

from .helpers import delta, trade


def _write(path: Path, n: int, **kw: int) -> list[int]:
    """Append n events; returns the byte offset where each record starts."""
    offsets = []
    with JournalWriter.open(path, **kw) as w:  # type: ignore[arg-type]
        for i in range(n):
            w.commit()
            offsets.append(segment_paths(path)[-1].stat().st_size)
            w.append(delta(i) if i % 2 else trade(i))
    return offsets


def test_torn_tail_at_every_byte_offset_of_the_last_record(tmp_path: Path) -> None:
    src = tmp_path / "src"
    offsets = _write(src, 6)
    seg = segment_paths(src)[0]
    whole = seg.read_bytes()
    last_start = offsets[-1]
    good = list(JournalReader(src).events())
    for cut in range(last_start, len(whole)):
        j = tmp_path / f"cut{cut}"
        j.mkdir()
        (j / seg.name).write_bytes(whole[:cut])
        reader = JournalReader(j)
        assert list(reader.events()) == good[:-1]
        if cut > last_start:
            assert reader.torn_tail is not None
            assert reader.torn_tail.offset == last_start
        with JournalWriter.open(j) as w:
            assert w.recovery.dropped_bytes == cut - last_start
            assert w.next_seq == 6, "only the torn record is lost"
            assert w.append(trade(99)).seq == 6
        assert [e.seq for e in JournalReader(j).events()] == [1, 2, 3, 4, 5, 6]
        assert verify_journal(j) == []


def test_bad_checksum_in_the_last_record_is_a_torn_tail(tmp_path: Path) -> None:
    offsets = _write(tmp_path, 4)
    seg = segment_paths(tmp_path)[0]
    raw = bytearray(seg.read_bytes())
    raw[-1] ^= 0xFF
    seg.write_bytes(bytes(raw))
    problems = verify_journal(tmp_path)
    assert len(problems) == 1
    assert "torn tail" in problems[0]
    assert f"offset {offsets[-1]}" in problems[0]
    assert seg.read_bytes() == bytes(raw), "verify changes nothing"
    with JournalWriter.open(tmp_path) as w:
        assert "truncated a torn tail" in str(w.recovery)
        assert w.next_seq == 4


def test_zero_filled_tail_is_a_torn_tail(tmp_path: Path) -> None:
    _write(tmp_path, 3)
    seg = segment_paths(tmp_path)[0]
    size = seg.stat().st_size
    with seg.open("ab") as f:
        f.write(b"\0" * 4096)
    with JournalWriter.open(tmp_path) as w:
        assert w.recovery.dropped_bytes == 4096
        assert w.next_seq == 4
    assert seg.stat().st_size == size


def test_damage_before_the_tail_is_an_error_naming_file_and_offset(tmp_path: Path) -> None:
    offsets = _write(tmp_path, 10)
    seg = segment_paths(tmp_path)[0]
    raw = bytearray(seg.read_bytes())
    raw[offsets[3] + 12] ^= 0x55  # inside record 4's payload
    seg.write_bytes(bytes(raw))
    with pytest.raises(CorruptJournal) as info:
        list(JournalReader(tmp_path).events())
    assert info.value.offset == offsets[3]
    assert str(seg) in str(info.value)
    with pytest.raises(CorruptJournal, match=f"offset {offsets[3]}"):
        JournalWriter.open(tmp_path)
    assert seg.read_bytes() == bytes(raw), "a failed open repairs nothing it does not understand"
    problems = verify_journal(tmp_path)
    assert any(f"offset {offsets[3]}" in p and "checksum" in p for p in problems)


def test_damage_in_a_sealed_segment_is_an_error(tmp_path: Path) -> None:
    with JournalWriter.open(tmp_path, segment_bytes=1024, max_batch_bytes=256) as w:
        for i in range(60):
            w.append(delta(i))
    first = segment_paths(tmp_path)[0]
    raw = bytearray(first.read_bytes())
    del raw[-3:]  # a sealed segment that lost its last bytes
    first.write_bytes(bytes(raw))
    with pytest.raises(CorruptJournal, match="sealed segment"):
        list(JournalReader(tmp_path).events())
    assert any("sealed segment" in p for p in verify_journal(tmp_path))


def test_crash_while_creating_a_segment(tmp_path: Path) -> None:
    with JournalWriter.open(tmp_path) as w:
        for i in range(3):
            w.append(delta(i))
    (tmp_path / "00000000000000000004.seg").write_bytes(b"ASNJ")  # header cut short
    with JournalWriter.open(tmp_path) as w:
        assert w.recovery.dropped_bytes == 4
        assert w.append(delta(4)).seq == 4
    assert [e.seq for e in JournalReader(tmp_path).events()] == [1, 2, 3, 4]
    assert HEADER_SIZE == 32
