"""``asn-journal download-bybit`` against a local Bybit-archive server on loopback that serves
the shared archive ``bybit/xrpusdt-ob500.data.zip`` at Bybit's URL layout: a download that
imports, a resume after a dropped connection (in the run and across runs), a wrong checksum,
a damaged archive and a 404, each with one clear line and nothing partial left.
"""

from __future__ import annotations

import gzip
import hashlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from journal.bybit_archive import read_archive
from journal.events import BUY, SELL, BookDelta, BookSnapshot, Trade
from journal.reader import JournalReader
from tests.journal.test_cli import asn_journal

PATH = "/orderbook/linear/XRPUSDT/2024-12-01_XRPUSDT_ob500.data.zip"


@dataclass
class Archives:
    """What the server serves and how it misbehaves; what it was asked."""

    files: dict[str, bytes]
    etag: str | None = None  # None: the real MD5
    drop_after: int | None = None  # cut the next full response after this many bytes
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    url: str = ""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        archives = self.server.archives
        archives.requests.append((self.path, self.headers.get("Range")))
        body = archives.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        if (wanted := self.headers.get("Range")) is not None:
            start = int(wanted.removeprefix("bytes=").removesuffix("-"))
        if start >= len(body) > 0:
            self.send_error(416)
            return
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.send_header("ETag", f'"{archives.etag or hashlib.md5(body).hexdigest()}"')
        self.end_headers()
        if archives.drop_after is not None and not start:
            cut, archives.drop_after = archives.drop_after, None
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)  # the connection drops mid-body
            return
        self.wfile.write(body[start:])

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    archives: Archives


@pytest.fixture
def archives(bybit_archive: Path) -> Iterator[Archives]:
    served = Archives({PATH: bybit_archive.read_bytes()})
    server = _Server(("127.0.0.1", 0), _Handler)
    server.archives = served
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _download(tmp_path: Path, archives: Archives, *dates: str) -> tuple[int, str, str]:
    proc = asn_journal(
        "download-bybit", "XRPUSDT", *(dates or ("2024-12-01",)), "--out", tmp_path / "j",
        "--cache", tmp_path / "cache", "--orderbook-base", archives.url,
        "--trades-base", archives.url,
    )  # fmt: skip
    return proc.returncode, proc.stdout, proc.stderr


def _imported_the_documented_book(journal: Path) -> None:
    book = [e for e in JournalReader(journal).events() if isinstance(e, BookSnapshot | BookDelta)]
    assert (len(book), book[-1].update_id) == (50, 20254918)  # shared/data/README.md


def test_download_checks_and_imports(tmp_path: Path, archives: Archives) -> None:
    code, out, err = _download(tmp_path, archives)
    assert code == 0, err
    assert "MD5 checked, CRC-32 checked" in out
    _imported_the_documented_book(tmp_path / "j")
    cached = tmp_path / "cache" / PATH.rsplit("/", 1)[1]
    assert cached.read_bytes() == archives.files[PATH]
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [cached.name]
    assert archives.requests == [(PATH, None)]


def test_a_dropped_connection_is_resumed_with_a_range_request(
    tmp_path: Path, archives: Archives
) -> None:
    archives.drop_after = 30_000
    code, out, err = _download(tmp_path, archives)
    assert code == 0, err
    assert archives.requests == [(PATH, None), (PATH, "bytes=30000-")]
    assert "2 requests" in out
    _imported_the_documented_book(tmp_path / "j")


def test_a_partial_download_left_by_an_earlier_run_is_resumed(
    tmp_path: Path, archives: Archives
) -> None:
    part = tmp_path / "cache" / (PATH.rsplit("/", 1)[1] + ".part")
    part.parent.mkdir()
    part.write_bytes(archives.files[PATH][:20_000])
    code, out, err = _download(tmp_path, archives)
    assert code == 0, err
    assert archives.requests == [(PATH, "bytes=20000-")]
    assert "resumed at byte 20000" in out
    assert not part.exists()
    _imported_the_documented_book(tmp_path / "j")


def _refused(tmp_path: Path, code: int, err: str, *needles: str, cached: int = 0) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    line = err.strip()
    assert "\n" not in line
    assert line.startswith("asn-journal: error: ")
    for needle in needles:
        assert needle in line
    assert not (tmp_path / "j").exists()
    cache = tmp_path / "cache"
    kept = list(cache.iterdir()) if cache.exists() else []
    assert len(kept) == cached, kept  # checked archives only: no .part
    assert not any(p.name.endswith(".part") for p in kept)
    return line


def test_a_wrong_checksum_removes_the_download(tmp_path: Path, archives: Archives) -> None:
    archives.etag = "0" * 32
    code, _out, err = _download(tmp_path, archives)
    _refused(tmp_path, code, err, "checksum mismatch", "0" * 32, "removed")


def test_a_damaged_archive_fails_its_crc(tmp_path: Path, archives: Archives) -> None:
    body = bytearray(archives.files[PATH])
    body[len(body) // 2] ^= 0xFF  # inside the compressed member
    archives.files[PATH] = bytes(body)
    archives.etag = "W/not-an-md5"  # a server that states no MD5: the zip's CRC-32 decides
    code, _out, err = _download(tmp_path, archives)
    line = _refused(tmp_path, code, err, "2024-12-01_XRPUSDT_ob500.data.zip")
    assert "damaged archive" in line or "fails its CRC-32" in line


def test_a_missing_day_is_a_404_naming_the_url(tmp_path: Path, archives: Archives) -> None:
    code, _out, err = _download(tmp_path, archives, "2024-12-01", "2024-12-02")
    _refused(tmp_path, code, err, "2024-12-02_XRPUSDT_ob200.data.zip", "HTTP 404", cached=1)
    # Both depths Bybit has used were tried for the missing day; the present day was fetched
    # but nothing was imported.
    assert [p for p, _ in archives.requests] == [
        PATH,
        PATH.replace("12-01_XRPUSDT", "12-02_XRPUSDT"),
        PATH.replace("12-01_XRPUSDT_ob500", "12-02_XRPUSDT_ob200"),
    ]


def test_bad_arguments_are_one_line_errors(tmp_path: Path, archives: Archives) -> None:
    code, _out, err = _download(tmp_path, archives, "2024-13-01")
    _refused(tmp_path, code, err, "'2024-13-01' is not a date")
    assert archives.requests == []


# ------------------------------------------------------------------------------ trades

TRADES = "/trading/XRPUSDT/XRPUSDT2024-12-01.csv.gz"
HEADER = "timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,"
HEADER += "foreignNotional"


def _trade_archive(bybit_archive: Path, rows: list[tuple[float, str, str, str]]) -> bytes:
    """A trade archive in Bybit's CSV layout whose rows fall at ``offset`` seconds after the
    order-book archive's first message (the shared data has no trade archive of that day)."""
    first_ms = next(e for e in read_archive(bybit_archive) if isinstance(e, BookSnapshot))
    t0 = first_ms.venue_ts_ms / 1000
    lines = [HEADER] + [
        f"{t0 + offset:.4f},XRPUSDT,{side},{size},{price},PlusTick,m-{i},0,{size},0"
        for i, (offset, side, size, price) in enumerate(rows)
    ]
    return gzip.compress(("\n".join(lines) + "\n").encode())


def test_trades_are_downloaded_and_merged_in_time(
    tmp_path: Path, archives: Archives, bybit_archive: Path
) -> None:
    rows = [
        (0.5, "Buy", "120", "1.9538"),
        (2.25, "Sell", "7", "1.9537"),
        (4.0, "Buy", "1", "1.954"),
    ]
    archives.files[TRADES] = _trade_archive(bybit_archive, rows)
    code, out, err = _download(tmp_path, archives, "2024-12-01", "--trades")
    assert code == 0, err
    assert "XRPUSDT2024-12-01.csv.gz" in out
    events = list(JournalReader(tmp_path / "j").events())
    trades = [e for e in events if isinstance(e, Trade)]
    assert [(t.trade_id, t.side, t.price_ticks, t.qty_lots) for t in trades] == [
        ("m-0", BUY, 19538, 120), ("m-1", SELL, 19537, 7), ("m-2", BUY, 19540, 1),
    ]  # fmt: skip
    stamps = [e.ts_local_ns for e in events]
    assert stamps == sorted(stamps)
    assert events.index(trades[0]) > 1  # between book events, not after them all
    assert events.index(trades[-1]) < len(events) - 1


@pytest.mark.parametrize(
    "case",
    [
        ([(1.0, "Buy", "1", "1.9538"), (0.5, "Sell", "1", "1.9537")], 3, "not in time order"),
        ([(1.0, "Buy", "0.5", "1.9538")], 2, "--lot-size"),
        ([(1.0, "Hold", "1", "1.9538")], 2, "unknown side"),
    ],
)
def test_bad_trade_rows_are_named(
    tmp_path: Path,
    archives: Archives,
    bybit_archive: Path,
    case: tuple[list[tuple[float, str, str, str]], int, str],
) -> None:
    rows, line, needle = case
    archives.files[TRADES] = _trade_archive(bybit_archive, rows)
    code, _out, err = _download(tmp_path, archives, "2024-12-01", "--trades")
    message = _refused(tmp_path, code, err, needle, cached=2)
    assert f"XRPUSDT2024-12-01.csv.gz:{line}:" in message
