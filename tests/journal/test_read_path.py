"""The replay loop (frame, checksum and decode in one pass per block) against the format's
specification, ``scan_block`` over a whole segment at once: for any damage and any read block
size, a reader yields the same events, raises the same error at the same offset and reports
the same torn tail; a follower fed a segment in arbitrary pieces sees every event once."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from crc32c import crc32c
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journal.codec import decode, kind_prefixes, peek_kind
from journal.errors import CorruptJournal
from journal.events import BookDelta, CancelIntent, Event, Trade
from journal.reader import Follower, JournalReader
from journal.segment import (
    FRAME,
    HEADER_SIZE,
    FileScan,
    FrameBlocks,
    ScanEnd,
    scan_block,
    segment_name,
    segment_paths,
)
from journal.writer import JournalWriter

from .helpers import delta, trade

EVENTS = 40
EXAMPLES = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@dataclass(frozen=True)
class Outcome:
    events: list[Event]
    error: str | None  # str(CorruptJournal)
    torn: tuple[int, int] | None  # (offset, dropped bytes)


@pytest.fixture(scope="module")
def good_segment(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """One segment of events of varied sizes (trades, deltas of 1 to 120 levels a side)."""
    directory = tmp_path_factory.mktemp("good")
    with JournalWriter.open(directory) as w:
        for i in range(EVENTS):
            w.append(trade(i) if i % 3 == 0 else delta(i, levels=1 + (i * 37) % 120))
    (path,) = segment_paths(directory)
    return path.read_bytes()


def _specification(path: Path) -> Outcome:
    """What reading ``path`` must give, from ``scan_block`` over the whole body at once."""
    body = memoryview(path.read_bytes())[HEADER_SIZE:]
    ends: list[int] = []
    scan_error: CorruptJournal | None = None
    try:
        result = scan_block(path, body, HEADER_SIZE, ends)
    except CorruptJournal as exc:  # ends holds the good frames before the damage
        scan_error = exc
    events: list[Event] = []
    seq = int(path.stem)
    begin = 0
    for end in ends:
        offset = HEADER_SIZE + begin
        try:
            event = decode(body[begin + 8 : end])
        except ValueError as exc:
            return Outcome(
                events, str(CorruptJournal(path, offset, f"undecodable record ({exc})")), None
            )
        if event.seq != seq:
            what = f"seq {event.seq} where {seq} was expected"
            return Outcome(events, str(CorruptJournal(path, offset, what)), None)
        events.append(event)
        seq += 1
        begin = end
    if scan_error is not None:
        return Outcome(events, str(scan_error), None)
    if result.end is ScanEnd.CLEAN:
        return Outcome(events, None, None)
    good_end = HEADER_SIZE + result.good_end
    return Outcome(events, None, (good_end, len(body) + HEADER_SIZE - good_end))


def _read(directory: Path, read_block: int, to_seq: int | None = None) -> Outcome:
    reader = JournalReader(directory, read_block=read_block)
    events: list[Event] = []
    try:
        for event in reader.events(to_seq=to_seq):
            events.append(event)
    except CorruptJournal as exc:
        return Outcome(events, str(exc), None)
    torn = reader.torn_tail
    return Outcome(events, None, None if torn is None else (torn.offset, torn.dropped_bytes))


def _frames(segment: bytes) -> list[bytes]:
    body = memoryview(segment)[HEADER_SIZE:]
    ends: list[int] = []
    scan_block(Path("good"), body, HEADER_SIZE, ends)
    return [bytes(body[b:e]) for b, e in zip([0, *ends], ends, strict=False)]


def _frame(payload: bytes) -> bytes:
    return FRAME.pack(len(payload), crc32c(payload)) + payload


#: Well-framed records that must not decode: garbage, a kind this version does not know, an
#: event array cut short.
_BAD_RECORDS = [_frame(b"\xc1\xc1"), _frame(b"\x93\xcc\xc8\x01\x02"), _frame(b"\x92\x04\x01")]


@st.composite
def damaged(draw: st.DrawFn, good: bytes) -> bytes:
    """The good segment with up to three kinds of damage past its header: bytes changed,
    cut or added, and whole well-framed records dropped, repeated or wrong."""
    frames = _frames(good)
    if draw(st.booleans()):
        k = draw(st.integers(0, len(frames) - 1))
        kind = draw(st.sampled_from(["drop", "repeat", "bad"]))
        if kind == "drop":
            del frames[k]
        elif kind == "repeat":
            frames.insert(k, frames[k])
        else:
            frames.insert(k, draw(st.sampled_from(_BAD_RECORDS)))
    raw = bytearray(good[:HEADER_SIZE] + b"".join(frames))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(HEADER_SIZE, len(raw)))
        kind = draw(st.sampled_from(["cut", "flip", "zeros", "garbage", "append"]))
        if kind == "cut":
            del raw[at:]
        elif kind == "flip" and at < len(raw):
            raw[at] ^= draw(st.integers(1, 255))
        elif kind == "zeros":
            span = draw(st.integers(1, 600))
            raw[at : at + span] = bytes(span)
        elif kind == "garbage":
            chunk = draw(st.binary(min_size=1, max_size=40))
            raw[at : at + len(chunk)] = chunk
        elif kind == "append":
            raw += draw(st.binary(max_size=64) | st.integers(1, 5000).map(bytes))
    return bytes(raw)


def _journal(tmp: Path, name: str, data: bytes) -> Path:
    directory = tmp / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir()
    (directory / segment_name(1)).write_bytes(data)
    return directory


@EXAMPLES
@given(
    data=st.data(),
    read_block=st.integers(1, 3000) | st.just(1 << 20),
    # An upper bound past the end, or none: both must read the whole (damaged) journal.
    to_seq=st.sampled_from([None, 10**9]),
)
def test_any_damage_reads_as_the_specification_says(
    tmp_path: Path, good_segment: bytes, data: st.DataObject, read_block: int, to_seq: int | None
) -> None:
    directory = _journal(tmp_path, "j", data.draw(damaged(good_segment)))
    (path,) = segment_paths(directory)
    assert _read(directory, read_block, to_seq) == _specification(path)


def test_the_specification_sees_the_damage_the_tests_make(
    tmp_path: Path, good_segment: bytes
) -> None:
    """Guards the property above against a specification that finds nothing wrong."""
    intact = _specification(segment_paths(_journal(tmp_path, "a", good_segment))[0])
    assert len(intact.events) == EVENTS
    assert intact.error is None
    assert intact.torn is None
    flipped = bytearray(good_segment)
    flipped[HEADER_SIZE + 20] ^= 1
    broken = _specification(segment_paths(_journal(tmp_path, "b", bytes(flipped)))[0])
    assert broken.events == []
    assert broken.error is not None
    assert "checksum" in broken.error
    cut = _specification(segment_paths(_journal(tmp_path, "c", good_segment[:-5]))[0])
    assert len(cut.events) == EVENTS - 1
    assert cut.torn is not None


@EXAMPLES
@given(data=st.data(), cut=st.integers(0, 400), read_block=st.integers(1, 3000))
def test_filtered_reads_take_the_same_records(
    tmp_path: Path, good_segment: bytes, data: st.DataObject, cut: int, read_block: int
) -> None:
    from_seq = data.draw(st.integers(0, EVENTS + 2), "from_seq")
    span = data.draw(st.integers(0, EVENTS + 2) | st.none(), "span")
    kinds = data.draw(st.sampled_from([None, (Trade,), (BookDelta,), (Trade, BookDelta)]))
    directory = _journal(tmp_path, "j", good_segment[: len(good_segment) - cut])
    everything = _specification(segment_paths(directory)[0])
    to_seq = None if span is None else from_seq + span
    expected = [
        e
        for e in everything.events
        if from_seq <= e.seq <= (to_seq if to_seq is not None else EVENTS)
        and (kinds is None or isinstance(e, kinds))
    ]
    reader = JournalReader(directory, read_block=read_block)
    assert list(reader.events(from_seq=from_seq, to_seq=to_seq, kinds=kinds)) == expected


@EXAMPLES
@given(
    cuts=st.lists(st.integers(HEADER_SIZE, 40_000), max_size=12),
    read_block=st.integers(1, 3000),
)
def test_a_follower_fed_in_pieces_sees_every_event_once(
    tmp_path: Path, good_segment: bytes, cuts: list[int], read_block: int
) -> None:
    directory = _journal(tmp_path, "f", good_segment[:HEADER_SIZE])
    path = directory / segment_name(1)
    follower = Follower(directory, read_block=read_block)
    seen: list[Event] = []
    try:
        with path.open("ab") as f:
            written = HEADER_SIZE
            for cut in [*sorted(c for c in cuts if c < len(good_segment)), len(good_segment)]:
                f.write(good_segment[written:cut])
                f.flush()
                written = max(written, cut)
                seen.extend(follower.poll())
    finally:
        follower.close()
    assert [e.seq for e in seen] == list(range(1, EVENTS + 1))
    assert seen == list(JournalReader(directory).events())


def test_a_walk_that_stops_before_a_good_frame_is_refused(
    tmp_path: Path, good_segment: bytes
) -> None:
    directory = _journal(tmp_path, "j", good_segment)
    path = directory / segment_name(1)
    with path.open("rb") as f:
        blocks = FrameBlocks(path, f.fileno(), HEADER_SIZE, FileScan())
        assert blocks.next(0)
        with pytest.raises(RuntimeError, match="disagree"):
            blocks.next(0)


@pytest.mark.parametrize("kinds", [set(), {4}, {1, 2, 3, 4}, {90}, {140}, {3, 140}])
def test_the_kind_prefix_table_agrees_with_peek_kind(kinds: set[int]) -> None:
    table = kind_prefixes(kinds)
    for first in range(256):
        for second in range(256):
            for tail in (b"", b"\x8c", b"\xcc\x8c\x01"):
                payload = bytes((first, second)) + tail
                wanted = table.get(payload[:2])
                if wanted is not None:
                    assert wanted == (peek_kind(payload) in kinds), payload


def test_filtering_by_a_kind_above_127_reads_past_the_table(tmp_path: Path) -> None:
    events = [
        trade(1) if i % 2 else CancelIntent(0, i, 1, "XRPUSDT", f"asn-{i}", "touch moved", i)
        for i in range(30)
    ]
    with JournalWriter.open(tmp_path) as w:
        stamped = [w.append(e) for e in events]
    cancels = list(JournalReader(tmp_path).events(kinds=[CancelIntent]))
    assert cancels == [e for e in stamped if isinstance(e, CancelIntent)]
    assert len(cancels) == 15
    both = list(JournalReader(tmp_path).events(kinds=[CancelIntent, Trade], from_seq=3))
    assert both == stamped[2:]
