"""``journal.blocks`` accepts exactly the frames ``scan_block``/``JournalReader`` accept, with
the CRC computed by the C function from compiled code and by the per-payload fallback."""

from __future__ import annotations

from pathlib import Path

import pytest
from crc32c import crc32c

from journal import framewalk
from journal.blocks import JournalBlocks
from journal.codec import encode
from journal.errors import CorruptJournal
from journal.events import Trade
from journal.reader import JournalReader
from journal.segment import FRAME, HEADER_SIZE, SegmentHeader, segment_name


@pytest.fixture(params=["c", "fallback"])
def crc_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "fallback":
        monkeypatch.setattr(framewalk, "_CRC", None)
    else:
        assert framewalk._CRC is not None  # the C function was found and agreed at import
    return str(request.param)


def _journal(path: Path, n: int) -> list[int]:
    """A one-segment journal of ``n`` trades; the file offset of each frame."""
    data = bytearray(SegmentHeader.new(1, 0).pack())
    offsets = []
    for i in range(1, n + 1):
        p = encode(Trade(i, 0, "X", "t" * (i % 40), 1, 10, i, 0))
        offsets.append(len(data))
        data += FRAME.pack(len(p), crc32c(p)) + p
    path.mkdir()
    (path / segment_name(1)).write_bytes(bytes(data))
    return offsets


def _frames(path: Path, block: int) -> list[int]:
    return [
        int(b.offset + e) for b in JournalBlocks(path, read_block=block).blocks() for e in b.ends
    ]


@pytest.mark.usefixtures("crc_path")
@pytest.mark.parametrize("block", [64, 1000, 1 << 20])
def test_same_frames_as_the_reader_for_any_block_size(tmp_path: Path, block: int) -> None:
    offsets = _journal(tmp_path / "j", 300)
    ends = _frames(tmp_path / "j", block)
    assert ends == [*offsets[1:], (tmp_path / "j" / segment_name(1)).stat().st_size]
    assert len(list(JournalReader(tmp_path / "j").events())) == len(ends)


@pytest.mark.usefixtures("crc_path")
def test_a_bad_checksum_before_the_end_is_corruption(tmp_path: Path) -> None:
    offsets = _journal(tmp_path / "j", 50)
    seg = tmp_path / "j" / segment_name(1)
    raw = bytearray(seg.read_bytes())
    raw[offsets[20] + 12] ^= 0xFF  # a payload byte of frame 21
    seg.write_bytes(bytes(raw))
    with pytest.raises(CorruptJournal, match="checksum") as caught:
        _frames(tmp_path / "j", 1 << 20)
    assert f"offset {offsets[20]}" in str(caught.value)


@pytest.mark.usefixtures("crc_path")
def test_a_bad_checksum_in_the_last_frame_is_a_torn_tail(tmp_path: Path) -> None:
    offsets = _journal(tmp_path / "j", 10)
    seg = tmp_path / "j" / segment_name(1)
    raw = bytearray(seg.read_bytes())
    raw[-1] ^= 0xFF
    seg.write_bytes(bytes(raw))
    blocks = JournalBlocks(tmp_path / "j")
    assert len(_frames(tmp_path / "j", 1 << 20)) == 9
    list(blocks.blocks())
    assert blocks.torn_tail is not None
    assert blocks.torn_tail.offset == offsets[9] > HEADER_SIZE
