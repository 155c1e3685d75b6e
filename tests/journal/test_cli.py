"""``asn-journal`` as a user runs it: a real subprocess, real files, exit codes, messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from journal.events import BookDelta, BookSnapshot, InstrumentInfo
from journal.reader import JournalReader
from journal.segment import HEADER_SIZE, SegmentHeader, segment_paths
from tests.core.kernel.oracle import L2Book, Update

REPO = Path(__file__).resolve().parents[2]


def asn_journal(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "journal.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 2
    assert proc.stderr.startswith("asn-journal: error: ")


def test_import_bybit_archive_rebuilds_the_documented_book(
    tmp_path: Path, bybit_archive: Path
) -> None:
    out = tmp_path / "j"
    proc = asn_journal("import-bybit", out, bybit_archive)
    assert proc.returncode == 0, proc.stderr
    assert "imported 51 events" in proc.stdout
    events = list(JournalReader(out).events())
    info = events[0]
    assert isinstance(info, InstrumentInfo)
    assert (info.symbol, info.tick_size, info.lot_size) == ("XRPUSDT", "0.0001", "1")
    book_msgs = [e for e in events if isinstance(e, BookSnapshot | BookDelta)]
    assert len(book_msgs) == 50
    assert isinstance(book_msgs[0], BookSnapshot)
    levels = sum(len(e.bid_ticks) + len(e.ask_ticks) for e in book_msgs)
    assert levels == 3966
    book = L2Book("XRPUSDT")
    for e in book_msgs:
        assert book.apply(e) in (Update.SNAPSHOT, Update.APPLIED)
        assert not book.stale, "never crosses"
    assert book.best_bid == (19537, 10605)  # 1.9537 x 10605
    assert book.best_ask == (19538, 6702)  # 1.9538 x 6702
    assert book.depth == (500, 500)
    assert book.update_id == 20254918

    stats = asn_journal("stats", out)
    assert stats.returncode == 0
    stat_rows = [line.split() for line in stats.stdout.splitlines()]
    assert ["KIND", "EVENTS"] in stat_rows
    assert ["book_delta", "49"] in stat_rows
    assert "seq 1..51" in stats.stdout
    assert asn_journal("verify", out).returncode == 0

    cat = asn_journal("cat", out, "--json", "--kind", "book_snapshot")
    rows = [json.loads(line) for line in cat.stdout.splitlines()]
    assert len(rows) == 1
    assert rows[0]["kind"] == "book_snapshot"
    assert rows[0]["update_id"] == 20254869
    text = asn_journal("cat", out, "--from", "5", "--to", "7")
    assert [int(line.split()[0]) for line in text.stdout.splitlines()] == [5, 6, 7]
    timed = asn_journal("cat", out, "--from", "2024-12-01T00:00:05", "--json")
    assert all(
        json.loads(r)["ts_local_ns"] >= 1733011205 * 10**9 for r in timed.stdout.splitlines()
    )
    assert timed.stdout.count("\n") > 0


def test_import_refuses_a_non_empty_target(tmp_path: Path, bybit_archive: Path) -> None:
    (tmp_path / "j").mkdir()
    (tmp_path / "j" / "x").write_text("keep me")
    proc = asn_journal("import-bybit", tmp_path / "j", bybit_archive)
    _no_traceback(proc)
    assert "not an empty directory" in proc.stderr
    assert (tmp_path / "j" / "x").read_text() == "keep me"


def test_truncated_zip_is_a_clear_error_and_writes_nothing(
    tmp_path: Path, bybit_archive: Path
) -> None:
    raw = bybit_archive.read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(raw[: len(raw) // 2])
    proc = asn_journal("import-bybit", tmp_path / "j", cut)
    _no_traceback(proc)
    assert "cut.zip" in proc.stderr
    assert "zip" in proc.stderr
    assert not (tmp_path / "j").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["cut.zip"], "no staging debris"


def test_damaged_zip_member_is_a_clear_error(tmp_path: Path, bybit_archive: Path) -> None:
    bad = tmp_path / "bad.zip"
    raw = bytearray(bybit_archive.read_bytes())
    with zipfile.ZipFile(bybit_archive) as z:
        info = z.infolist()[0]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 5000, start + 5100):
        raw[i] ^= 0xA5
    bad.write_bytes(bytes(raw))
    proc = asn_journal("import-bybit", tmp_path / "j", bad)
    _no_traceback(proc)
    assert "bad.zip" in proc.stderr
    assert not (tmp_path / "j").exists()


def test_malformed_ndjson_line_is_named(tmp_path: Path, bybit_archive: Path) -> None:
    with zipfile.ZipFile(bybit_archive) as z:
        lines = z.read(z.namelist()[0]).splitlines()
    nd = tmp_path / "x.ndjson"
    nd.write_bytes(
        b"\n".join([lines[0], lines[1], b'{"topic":"orderbook.500.XRPUSDT", oops', lines[2]])
    )
    proc = asn_journal("import-bybit", tmp_path / "j", nd)
    _no_traceback(proc)
    assert f"{nd}:3: malformed message" in proc.stderr
    assert not (tmp_path / "j").exists()


def test_off_grid_value_asks_for_real_sizes(tmp_path: Path, bybit_archive: Path) -> None:
    nd = tmp_path / "x.ndjson"
    with zipfile.ZipFile(bybit_archive) as z:
        first = z.read(z.namelist()[0]).splitlines()[0]
    nd.write_bytes(first + b"\n" + first.replace(b'"1.9531"', b'"1.95315"', 1))
    proc = asn_journal("import-bybit", tmp_path / "j", nd)
    _no_traceback(proc)
    assert ":2:" in proc.stderr
    assert "--tick-size" in proc.stderr


def test_missing_and_unwritable_directories(tmp_path: Path) -> None:
    proc = asn_journal("stats", tmp_path / "absent")
    _no_traceback(proc)
    assert "does not exist" in proc.stderr
    (tmp_path / "file").write_text("not a directory")
    proc = asn_journal("import-bybit", tmp_path / "file" / "j", tmp_path / "file")
    _no_traceback(proc)
    assert "is not a directory" in proc.stderr
    proc = asn_journal("import-bybit", tmp_path / "j", tmp_path / "absent.zip")
    _no_traceback(proc)
    assert "absent.zip: no such file" in proc.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root bypasses directory permissions")
def test_unwritable_parent_directory(tmp_path: Path, bybit_archive: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    proc = asn_journal("import-bybit", ro / "j", bybit_archive)
    _no_traceback(proc)
    assert "cannot write" in proc.stderr


def test_import_creates_missing_parent_directories(tmp_path: Path, bybit_archive: Path) -> None:
    """README's `asn-journal import-bybit var/xrp ...` works on a fresh checkout (no var/)."""
    out = tmp_path / "var" / "deeper" / "xrp"
    proc = asn_journal("import-bybit", out, bybit_archive)
    assert proc.returncode == 0, proc.stderr
    assert [e.seq for e in JournalReader(out).events()][-1] == 51


def test_newer_schema_is_a_clear_error(tmp_path: Path, bybit_archive: Path) -> None:
    out = tmp_path / "j"
    assert asn_journal("import-bybit", out, bybit_archive).returncode == 0
    seg = segment_paths(out)[0]
    raw = bytearray(seg.read_bytes())
    raw[:HEADER_SIZE] = SegmentHeader(7, 1, 1, 0).pack()
    seg.write_bytes(bytes(raw))
    for command in ("stats", "cat", "verify", "ls"):
        proc = asn_journal(command, out)
        _no_traceback(proc)
        assert "schema 7.1" in proc.stderr
        assert "Upgrade ASN" in proc.stderr


def test_verify_reports_a_torn_tail_and_changes_nothing(
    tmp_path: Path, bybit_archive: Path
) -> None:
    out = tmp_path / "j"
    assert asn_journal("import-bybit", out, bybit_archive).returncode == 0
    seg = segment_paths(out)[0]
    torn = seg.read_bytes()[:-100]
    seg.write_bytes(torn)
    proc = asn_journal("verify", out)
    assert proc.returncode == 1
    assert "torn tail record" in proc.stdout
    assert seg.read_bytes() == torn
    stats = asn_journal("stats", out)
    assert stats.returncode == 0
    assert "warning:" in stats.stderr
    assert "seq 1..50" in stats.stdout


def test_unknown_kind_filter_lists_the_known_ones(tmp_path: Path, bybit_archive: Path) -> None:
    out = tmp_path / "j"
    assert asn_journal("import-bybit", out, bybit_archive).returncode == 0
    proc = asn_journal("cat", out, "--kind", "book_deltas")
    _no_traceback(proc)
    assert "book_delta" in proc.stderr


def test_a_reader_that_stops_early_is_not_an_error(tmp_path: Path, bybit_archive: Path) -> None:
    out = tmp_path / "j"
    assert asn_journal("import-bybit", out, bybit_archive).returncode == 0
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        [sys.executable, "-m", "journal.cli", "cat", str(out), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        proc.stdout.readline()
        proc.stdout.close()  # like `| head -1`: more output than a pipe buffer is left unread
        assert proc.wait(timeout=60) == 0
        assert b"error" not in proc.stderr.read()


def test_ls_is_a_plain_table_of_segments(tmp_path: Path, bybit_archive: Path) -> None:
    """Piped (as here), ``ls`` prints one row per segment under fixed headers, no ANSI codes."""
    out = tmp_path / "j"
    assert asn_journal("import-bybit", out, bybit_archive).returncode == 0
    proc = asn_journal("ls", out)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout
    header, *rows = [line.split() for line in proc.stdout.splitlines()]
    assert header == ["SEGMENT", "FIRST_SEQ", "BYTES", "SCHEMA", "CREATED"]
    paths = segment_paths(out)
    assert [r[0] for r in rows] == [p.name for p in paths]
    assert [int(r[2]) for r in rows] == [p.stat().st_size for p in paths]
    assert rows[0][1] == "1"
